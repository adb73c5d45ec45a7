/// What the run policy tells the coordinator's shell to do.
public enum RunDirective: Sendable, Equatable {
    /// Take a checkpoint of the state as it is now (right after an applied step), resuming at `resumeAt`.
    case checkpoint(resumeAt: TrainingCursor)
    /// Evaluate the parameters as they are now as the end of `result.epoch`; `result` holds its training figures.
    /// The shell hands the evaluated result back with `RunPolicy.evaluated`.
    case evaluate(EpochResult)
    /// Record the training figures of an epoch that is not evaluated (`--eval-every`), in epoch order with the
    /// evaluated ones: it has no metrics. The shell hands it back with `RunPolicy.evaluated` like an evaluated one.
    case record(EpochResult)
    /// Evaluate epoch `epoch` (0-based), which ended before a restart without its figures being recorded, from the
    /// checkpoint taken at its end (`RunPolicy.recoveredResult` gives its figures from the checkpoint's audit).
    case evaluateFromCheckpoint(epoch: Int)
    /// The epoch just recorded is the new validation choice: write its tables as `best_*.npy`.
    case keepBest(epoch: Int)
    /// Training ends when the epoch in progress (`epoch`, 0-based) ends.
    case endAfterEpoch(Int)
    /// Something the reports say: a log line and, for most, a `metrics.jsonl` event.
    case announce(RunEvent)
}

/// What happened to the run that the reports tell the user.
public enum RunEvent: Sendable, Equatable {
    /// `--time-limit` passed; training ends after epoch `afterEpoch` (1-based).
    case timeLimit(seconds: Double, afterEpoch: Int)
    /// The validation score stopped improving; training ends after epoch `afterEpoch` (1-based).
    case earlyStop(epochsWithoutImprovement: Int, bestEpoch: Int, afterEpoch: Int)
    /// A resumed run's metrics already said to stop: training ends with the epoch in progress.
    case stoppedBeforeRestart(epochsWithoutImprovement: Int)
    /// An epoch's audit differs from the training set's.
    case auditMismatch(epoch: Int, applied: Int, expected: Int)
    /// An epoch that ended before a restart had no recorded figures, and no checkpoint of its end is left.
    case epochFiguresLost(epoch: Int)
}

/// The run's policy as a pure state machine: early stopping, the time limit, checkpoint timing, the epoch audit and
/// epoch accounting, evaluation scheduling and the end of the run. It takes events with the time they happened at
/// and returns directives; the shell (`CoordinatorServer`) carries them out. No I/O, no clock of its own.
public struct RunPolicy: Sendable {
    public struct Rules: Sendable, Equatable {
        /// Epochs planned (`--epochs`).
        public var epochs: Int
        /// Epochs without a better validation score before training ends (0: never).
        public var patience: Int
        /// Seconds from the first STEP after which training ends with the epoch in progress (nil: none).
        public var timeLimit: Double?
        /// Also checkpoint every this many steps (0: only at epoch ends).
        public var checkpointEverySteps: Int
        /// Minibatches in an epoch: a step that reaches this count ends its epoch.
        public var minibatchesPerEpoch: Int
        /// Evaluate every this many epochs (`--eval-every`), and always the last epoch training runs to.
        public var evaluateEvery: Int

        public init(epochs: Int, patience: Int = 0, timeLimit: Double? = nil, checkpointEverySteps: Int = 0,
                    minibatchesPerEpoch: Int, evaluateEvery: Int = 1) {
            precondition(evaluateEvery >= 1, "evaluateEvery must be at least 1, got \(evaluateEvery)")
            self.epochs = epochs
            self.evaluateEvery = evaluateEvery
            self.patience = patience
            self.timeLimit = timeLimit
            self.checkpointEverySteps = checkpointEverySteps
            self.minibatchesPerEpoch = minibatchesPerEpoch
        }
    }

    public let rules: Rules
    /// The audit of a whole epoch of the training set.
    public let expectedAudit: EpochAudit
    /// The epochs chosen by validation and by test score, and the early-stopping count.
    public private(set) var selection: ModelSelection
    /// The audit of the epoch in progress.
    public private(set) var audit: EpochAudit
    /// The epoch in progress: summed loss and examples of its applied minibatches.
    public private(set) var epochLoss = (sum: 0.0, examples: 0)
    /// When the epoch in progress started (the first epoch: at the first STEP).
    public private(set) var epochStartedAt: Double
    /// When the run began (this process).
    public private(set) var runStartedAt: Double
    /// When the first STEP went out; nil before.
    public private(set) var firstStepAt: Double?
    /// Steps applied by this process.
    public private(set) var stepsRun = 0
    /// The last epoch (1-based) training runs to, as far as the policy has ended it.
    public private(set) var lastEpoch: Int
    public private(set) var stoppedEarly = false
    public private(set) var timeLimitReached = false
    /// Training has finished: no early stop is decided after this.
    public private(set) var finished = false
    /// Epochs (0-based) being evaluated from their epoch-end checkpoints after a restart.
    public private(set) var recovering: Set<Int> = []

    /// `recorded`: the epochs whose figures `metrics.jsonl` already holds (a resumed run), in order. `audit`: the
    /// epoch in progress's audit so far (from the checkpoint). `now`: when the run begins.
    public init(rules: Rules, expectedAudit: EpochAudit, audit: EpochAudit = EpochAudit(), recorded: [EpochResult] = [],
                now: Double) {
        self.rules = rules
        self.expectedAudit = expectedAudit
        self.audit = audit
        selection = ModelSelection(patience: rules.patience)
        for previous in recorded where previous.epoch + 1 > selection.lastEpoch {
            selection.record(epoch: previous.epoch + 1, test: previous.metrics, validation: previous.validationMetrics)
        }
        epochStartedAt = now
        runStartedAt = now
        lastEpoch = rules.epochs
    }

    /// The run (re)starts at `cursor` at `now`: epochs that ended before a restart without recorded figures are
    /// evaluated from their checkpoints (`available` says which epochs have one), and a run whose metrics already
    /// said to stop ends with the epoch in progress.
    public mutating func started(at cursor: TrainingCursor, now: Double, available: (Int) -> Bool = { _ in false })
        -> [RunDirective]
    {
        runStartedAt = now
        epochStartedAt = now
        var out: [RunDirective] = []
        let ended = cursor.minibatch >= rules.minibatchesPerEpoch ? cursor.epoch + 1 : cursor.epoch
        for epoch in selection.lastEpoch ..< ended {
            if available(epoch) {
                recovering.insert(epoch)
                out.append(.evaluateFromCheckpoint(epoch: epoch))
            } else {
                out.append(.announce(.epochFiguresLost(epoch: epoch)))
            }
        }
        if recovering.isEmpty, selection.shouldStop {
            stoppedEarly = true
            out += stop(epochInProgress: cursor.epoch)
            out.append(.announce(.stoppedBeforeRestart(epochsWithoutImprovement: selection.epochsWithoutImprovement)))
        }
        return out
    }

    /// A STEP went out. The first one starts the clock of the first epoch and of the time limit.
    public mutating func stepSent(now: Double) {
        guard firstStepAt == nil else { return }
        firstStepAt = now
        epochStartedAt = now
    }

    /// A minibatch of the step being applied: its interactions (training-set indices), summed loss and examples.
    public mutating func minibatchApplied(interactions: ArraySlice<UInt32>, lossSum: Double, examples: Int) {
        audit.add(interactions)
        epochLoss.sum += lossSum
        epochLoss.examples += examples
    }

    /// The step at `cursor` (the machine's, before it moves on) was applied, giving state `version`, at `now`.
    public mutating func stepApplied(cursor: TrainingCursor, version: UInt64, now: Double) -> [RunDirective] {
        var out: [RunDirective] = []
        if let limit = rules.timeLimit, !timeLimitReached, let first = firstStepAt, now - first >= limit {
            timeLimitReached = true
            out += stop(epochInProgress: cursor.epoch)
            out.append(.announce(.timeLimit(seconds: limit, afterEpoch: lastEpoch)))
        }
        stepsRun += 1
        let endOfEpoch = cursor.minibatch >= rules.minibatchesPerEpoch
        let due = rules.checkpointEverySteps > 0 && stepsRun % rules.checkpointEverySteps == 0
        if endOfEpoch || due {
            out.append(.checkpoint(resumeAt: TrainingCursor(step: cursor.step + 1, version: version,
                                                            epoch: cursor.epoch, minibatch: cursor.minibatch)))
        }
        return out
    }

    /// Epoch `epoch` (0-based) ended at `now`: its audit is checked and it is evaluated when due (every
    /// `evaluateEvery` epochs, and the last epoch training runs to; else only recorded), unless it was recorded
    /// before a restart (or is being evaluated from its checkpoint) and no step of it ran since. The next epoch's
    /// clock starts at `nextEpochStarted` (the shell may first wait for the previous evaluation).
    public mutating func epochFinished(_ epoch: Int, now: Double) -> [RunDirective] {
        defer {
            audit = EpochAudit()
            epochLoss = (0, 0)
            epochStartedAt = now
        }
        if epochLoss.examples == 0 && (epoch + 1 <= selection.lastEpoch || recovering.contains(epoch)) { return [] }
        var out: [RunDirective] = []
        let exact = audit == expectedAudit
        if !exact { out.append(.announce(.auditMismatch(epoch: epoch, applied: audit.count, expected: expectedAudit.count))) }
        var result = EpochResult(epoch: epoch, meanLoss: epochLoss.sum / Double(max(epochLoss.examples, 1)),
                                 examples: epochLoss.examples, trainSeconds: now - epochStartedAt, auditExact: exact,
                                 audit: audit, metrics: [], evaluationSeconds: 0)
        result.elapsedSeconds = now - runStartedAt   // the evaluation's own time is added when it reports
        let due = (epoch + 1) % rules.evaluateEvery == 0 || epoch + 1 >= lastEpoch || finished
        out.append(due ? .evaluate(result) : .record(result))
        return out
    }

    /// The next epoch starts training at `now`.
    public mutating func nextEpochStarted(now: Double) { epochStartedAt = now }

    /// The figures of an epoch ended before a restart, from the audit of the checkpoint taken at its end.
    public func recoveredResult(epoch: Int, audit: EpochAudit) -> EpochResult {
        var result = EpochResult(epoch: epoch, meanLoss: 0, examples: audit.count, trainSeconds: 0,
                                 auditExact: audit == expectedAudit, audit: audit, metrics: [], evaluationSeconds: 0)
        result.recovered = true
        return result
    }

    /// An epoch's evaluation has been recorded; `epochInProgress` is the epoch training is in now (0-based).
    public mutating func evaluated(_ result: EpochResult, epochInProgress: Int) -> [RunDirective] {
        recovering.remove(result.epoch)
        guard result.epoch + 1 > selection.lastEpoch else { return [] }
        var out: [RunDirective] = []
        if selection.record(epoch: result.epoch + 1, test: result.metrics, validation: result.validationMetrics) {
            out.append(.keepBest(epoch: result.epoch))
        }
        if selection.shouldStop && !stoppedEarly && !finished {
            stoppedEarly = true
            out += stop(epochInProgress: epochInProgress)
            out.append(.announce(.earlyStop(epochsWithoutImprovement: selection.epochsWithoutImprovement,
                                            bestEpoch: selection.byValidation!.epoch, afterEpoch: lastEpoch)))
        }
        return out
    }

    /// Training has finished (the machine's `.trainingFinished`) or stops after the step applied now: no early stop
    /// is decided after this, and an epoch that ends now is evaluated.
    public mutating func trainingFinished() { finished = true }

    /// Ends training with the epoch in progress, as `CoordinatorMachine.endAfterEpoch` does.
    private mutating func stop(epochInProgress epoch: Int) -> [RunDirective] {
        lastEpoch = min(lastEpoch, epoch + 1)
        return [.endAfterEpoch(epoch)]
    }
}
