import Dataset

/// One epoch's figures.
public struct EpochResult: Sendable, Equatable {
    public var epoch: Int
    public var meanLoss: Double
    public var examples: Int
    public var trainSeconds: Double
    public var auditExact: Bool
    public var audit: EpochAudit
    /// Test metrics.
    public var metrics: [RankingMetrics]
    /// Metrics on the validation split (empty without one).
    public var validationMetrics: [RankingMetrics] = []
    public var evaluationSeconds: Double
    /// Wall seconds from the start of the run until this epoch's scores were known (training, then evaluation).
    public var elapsedSeconds: Double = 0
    /// Evaluated after a restart from the checkpoint taken at the epoch's end: its loss and times were lost with the
    /// coordinator that trained it (`metrics.jsonl` writes them as null).
    public var recovered = false
    /// Mean seconds per step of the epoch spent waiting for the workers' gradients (from the step's first STEP to
    /// its last gradient: their computing and the network) and in the optimizer and bank update; nil when unknown.
    public var stepWaitSeconds: Double?
    public var stepOptimizerSeconds: Double?

    public var examplesPerSecond: Double { trainSeconds > 0 ? Double(examples) / trainSeconds : 0 }

    public func metric(k: Int) -> RankingMetrics? { metrics.first { $0.k == k } }
}

/// What a finished run reports.
public struct RunSummary: Sendable {
    public var epochs: [EpochResult]
    public var steps: Int
    public var wallSeconds: Double
    public var replicaMismatches: Int
    public var resends: Int
    public var membersLost: Int
    public var outputDirectory: String
    public var finalHash: UInt64
    /// The epochs chosen by validation and by test score.
    public var selection: ModelSelection
    /// Training ended before --epochs because the validation score stopped improving.
    public var stoppedEarly: Bool
    /// What stopped training before its end to be resumed later (`SIGTERM`); nil when it ran to its end.
    public var stoppedBy: String? = nil
    /// The last step applied: the one that a stopped run's checkpoint resumes after.
    public var lastStep: Int = 0
}
