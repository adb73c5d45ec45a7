import Kernels
import RunSettings
import Transport

/// What a user asked for on the command line (or in `MBT_*` variables): nil for a flag not given. `resolve` turns
/// it, with the defaults (`RunDefaults`), the preset and the data's shape, into the run's settings.
public struct RunFlags: Sendable, Equatable {
    public var bind: String?
    /// Ready workers to wait for; nil: `spawnWorkers`, else 1.
    public var workers: Int?
    public var spawnWorkers = 0
    public var preset: String?
    public var epochs: Int?
    public var dim: Int?
    public var batchSize: Int?
    public var minibatchSize: Int?
    /// `bank-infonce`, `in-batch`, `mnr`, `bpr`, `ccl`.
    public var loss: String?
    public var cclMargin: Float?
    public var cclNegativeWeight: Float?
    /// `cosine` or `dot`.
    public var similarity: String?
    public var temperature: Float?
    public var positiveTemperature: Float?
    public var negatives: Int?
    /// `uniform` or `popularity`.
    public var sampler: String?
    public var popularityAlpha: Float?
    public var logQCorrection = false
    public var mixInBatch = false
    public var liveNegatives: Bool?
    public var trainedBankNegatives: Bool?
    public var hardNegatives: Int?
    public var hardNegativePool: Int?
    public var hardNegativeSkip: Int?
    public var keepAccidentalHits = false
    public var maskSeenItems: Bool?
    public var momentum: Float?
    public var initStd: Float?
    public var optimizer: String?
    public var learningRate: Float?
    public var weightDecay: Float?
    public var learningRateSchedule: String?
    public var seed: UInt64?
    public var evaluationKs: [Int]?
    public var evaluationUsers: Int?
    public var evaluateEvery: Int?
    public var validationFraction: Double?
    public var patience: Int?
    public var timeLimit: Double?
    public var outputDirectory: String?
    public var checkpointEverySteps = 0
    public var resume = false
    /// Seconds of silence after which a worker is declared dead.
    public var heartbeatTimeout = 3.0
    public var taskTimeout = PeerLimits().taskDeadline
    public var maxWorkers = PeerLimits().maxWorkers
    public var verifyReplicas = false
    public var maxMessageBytes: Int?
    /// `drop=0.05,...`.
    public var faults: String?

    public init() {}

    /// `--loss` names.
    public static let lossKinds: [String: LossKind] = [
        "bank-infonce": .bankInfoNCE, "in-batch": .inBatchInfoNCE, "mnr": .mnr, "bpr": .bpr, "ccl": .ccl,
    ]
}

extension CoordinatorSettings {
    /// The run's settings: the defaults, then the preset, then the flags given. `data` (nil before the data is
    /// loaded) lets a preset size what depends on the data. A pure function of its arguments; throws one sentence
    /// per flag that cannot work.
    public static func resolve(_ flags: RunFlags, data: DataShape? = nil) throws -> CoordinatorSettings {
        var s = CoordinatorSettings()
        if let bind = flags.bind { s.bind = bind }
        s.minimumWorkers = flags.workers ?? max(flags.spawnWorkers, 1)
        if let dim = flags.dim { s.dim = dim }
        s.minibatchSize = flags.minibatchSize
        let lossName = flags.loss ?? "bank-infonce"
        guard let kind = RunFlags.lossKinds[lossName] else {
            throw TrainerError("--loss must be one of \(RunFlags.lossKinds.keys.sorted().joined(separator: ", ")) (got \(lossName))")
        }
        let defaultSimilarity = kind == .mnr || kind == .bpr ? "dot" : "cosine"
        guard let similarity = ["cosine": Similarity.cosine, "dot": .dot][flags.similarity ?? defaultSimilarity] else {
            throw TrainerError("--similarity must be cosine or dot (got \(flags.similarity ?? ""))")
        }
        s.loss = LossSettings(kind: kind, similarity: similarity, temperature: LossSettings.defaultTemperature(for: kind),
                              removeAccidentalHits: !flags.keepAccidentalHits, logQCorrection: flags.logQCorrection,
                              mixInBatch: flags.mixInBatch)
        if let margin = flags.cclMargin { s.loss.cclMargin = margin }
        if let weight = flags.cclNegativeWeight { s.loss.cclNegativeWeight = weight }
        let samplerName = flags.sampler ?? "uniform"
        guard let sampler = ["uniform": SamplerKind.uniform, "popularity": .popularity][samplerName] else {
            throw TrainerError("--sampler must be uniform or popularity (got \(samplerName))")
        }
        s.sampler = sampler
        if let alpha = flags.popularityAlpha { s.popularityAlpha = alpha }
        if let momentum = flags.momentum { s.momentum = momentum }
        if let name = flags.preset {
            guard let chosen = TrainingPreset.named(name) else {
                throw TrainerError("--preset must be one of \(TrainingPreset.all.map(\.name).joined(separator: ", ")) (got \(name))")
            }
            chosen.apply(to: &s, data: data ?? DataShape(users: 1, items: .max, pairs: 0))
        }
        if let epochs = flags.epochs { s.epochs = epochs }
        if let batchSize = flags.batchSize { s.batchSize = batchSize }
        if let negatives = flags.negatives { s.loss.negatives = negatives }
        if let temperature = flags.temperature { s.loss.temperature = temperature }
        if let tauPlus = flags.positiveTemperature { s.loss.positiveTemperature = tauPlus }
        if let live = flags.liveNegatives { s.loss.liveNegatives = live }
        if let trained = flags.trainedBankNegatives {
            s.loss.trainedBankNegatives = trained
            // The negatives come from the bank: a preset's live negatives give way unless asked for by name.
            if trained && flags.liveNegatives == nil { s.loss.liveNegatives = false }
        }
        if let mask = flags.maskSeenItems { s.loss.maskSeenItems = mask }
        if let hard = flags.hardNegatives { s.loss.hardNegatives = hard }
        if let pool = flags.hardNegativePool {
            guard s.loss.hardNegatives > 0 else {
                throw TrainerError("--hard-negative-pool sets where hard negatives are chosen: give --hard-negatives too")
            }
            s.loss.hardNegativePool = pool
        } else if s.loss.hardNegatives > 0 && s.loss.hardNegativePool == 0 {
            s.loss.hardNegativePool = RunDefaults.hardNegativePool
        }
        if let skip = flags.hardNegativeSkip {
            guard s.loss.hardNegatives > 0 else {
                throw TrainerError("--hard-negative-skip sets which hard negatives are taken: give --hard-negatives too")
            }
            s.loss.hardNegativeSkip = skip
        }
        // A preset's hard negatives need the bank InfoNCE loss with negatives that get gradients: when other flags
        // take either away, they give way, unless asked for by name.
        if flags.hardNegatives == nil, s.loss.minesHardNegatives,
           s.loss.kind != .bankInfoNCE || !s.loss.trainsNegatives {
            s.loss.hardNegatives = 0
            s.loss = s.loss.canonical
        }
        if let optimizer = flags.optimizer {
            guard let kind = OptimizerKind(rawValue: optimizer) else {
                throw TrainerError("--optimizer must be one of \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")) (got \(optimizer))")
            }
            s.optimizer.kind = kind
        }
        if let lr = flags.learningRate { s.optimizer.learningRate = lr }
        if let decay = flags.weightDecay { s.optimizer.weightDecay = decay }
        if let text = flags.learningRateSchedule {
            guard let parsed = LearningRateSchedule(parsing: text) else {
                throw TrainerError("--lr-schedule must be constant, cosine or cosine:F with 0 ≤ F ≤ 1 (got \(text))")
            }
            s.learningRateSchedule = parsed
        }
        if let fraction = flags.validationFraction { s.validationFraction = fraction }
        if let patience = flags.patience { s.patience = patience }
        s.timeLimit = flags.timeLimit
        if let initStd = flags.initStd { s.initStd = initStd }
        if let seed = flags.seed { s.seed = seed }
        if let ks = flags.evaluationKs { s.evaluationKs = ks.sorted() }
        if let n = flags.evaluationUsers { s.evaluationUsers = n }
        if let n = flags.evaluateEvery { s.evaluateEvery = n }
        if let output = flags.outputDirectory { s.outputDirectory = output }
        s.checkpointEverySteps = flags.checkpointEverySteps
        s.resume = flags.resume
        s.timings = ProtocolTimings(deadAfter: flags.heartbeatTimeout)
        guard flags.taskTimeout > 0 else { throw TrainerError("--task-timeout must be positive, got \(flags.taskTimeout)") }
        guard flags.maxWorkers >= s.minimumWorkers else {
            throw TrainerError("--max-workers \(flags.maxWorkers) is below the \(s.minimumWorkers) workers the run waits for: it could never start")
        }
        s.peerLimits.taskDeadline = flags.taskTimeout
        s.peerLimits.maxWorkers = flags.maxWorkers
        s.verifyReplicas = flags.verifyReplicas
        s.maxMessageBytes = flags.maxMessageBytes
        if let spec = flags.faults { s.faults = try FaultSettings(parsing: spec) }
        let problems = s.problems()
        guard problems.isEmpty else { throw TrainerError(problems.joined(separator: "\n")) }
        return s
    }
}
