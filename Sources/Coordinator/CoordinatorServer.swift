import Dataset
import Foundation
import Kernels
import Logging
import Replication
import RunSettings
import Transport
import Wire

/// The coordinator's shell: moves bytes between its transport and `CoordinatorMachine`, and carries out the
/// directives of the protocol and of the run policy on the training state. The decisions live elsewhere: who is
/// alive and what each worker computes in `CoordinatorMachine`; early stopping, the time limit, checkpoints, the
/// audit and evaluations in `RunPolicy`; the STEP messages in `StepBuilder`; what the user sees in `RunReporter`.
/// It reads the time only through `clock`.
public final class CoordinatorServer {
    public let settings: CoordinatorSettings
    public let data: InteractionData
    let logger: Logger
    let endpoint: any RouterTransport
    let clock: any ShellClock
    /// The run's parameters: here, or over shard processes (`--shards`).
    let parameters: ParameterStore
    var machine: CoordinatorMachine<PeerID>
    var policy: RunPolicy
    var steps: StepBuilder
    let spec: TrainingSpec
    let runId: UInt64
    let shape: RunShape
    let checkpoints: CheckpointStore
    let reporter: RunReporter
    let evaluator: RankingEvaluator
    /// Scores the validation split; nil without one.
    let validationEvaluator: RankingEvaluator?
    /// Refused messages by `Refusal.key` (and "malformed" for frames that did not decode), for `metrics.jsonl`.
    var refusals: [String: Int] = [:]
    /// When a refusal of each key was last logged, and how many were not logged since.
    var refusalLog: [String: (time: Double, held: Int)] = [:]
    /// Evaluations started and not yet recorded, oldest first (one runs at a time).
    /// Epochs ended and not yet recorded, in order: each with its evaluation, or nil when it is not evaluated.
    var evaluations: [(EpochEvaluation?, EpochResult)] = []
    var results: [EpochResult] = []
    /// With `--verify-replicas`: the hashes of the rows sent with each task of the current step (`TablesHash.of(reads:in:)`),
    /// one for each STEP that carried it (a resent task goes in a STEP of its own, and the first may still answer).
    var sentRowsHash: [TaskKey: [UInt64]] = [:]
    var replicaMismatches = 0
    var membersLost = 0
    var sequence: UInt64 = 0
    /// What the parameter traffic cannot go below, in bytes of row ids and f32 values: the rows each task of a
    /// step reads, once per task (sent), and the GRADIENT rows of every applied minibatch (received).
    var sparseMinimum = (sent: 0, received: 0)
    /// The tasks of the current step whose rows `sparseMinimum.sent` counts (a resent or reassigned task's rows
    /// are sent again: not minimum).
    var countedTasks: Set<TaskKey> = []
    /// The evaluation recorded last (its tables are what `keepBest` writes).
    var lastRecorded: EpochEvaluation?
    /// What parameters may hold (finite, and small enough that similarities cannot overflow).
    let parameterCheck: ParameterCheck
    /// A request to stop before the end (SIGTERM), and whether training stopped on it (see `checkStopRequest`).
    var stop: GracefulStop?
    var stopped = false
    /// The cursor of the state after the last applied step, and the steps run when a checkpoint was last taken.
    var boundary: TrainingCursor?
    var checkpointedAtStep = 0
    /// The sharded run's checkpoints (`ShardedCheckpoint`), beside the shards' own files.
    let shardCheckpoints: CheckpointStore
    /// Whether a shard refused to save (it keeps no checkpoints): the run takes no more checkpoints.
    var shardCheckpointsRefused = false
    /// Where the operator's figures go (Prometheus, from the executable); nothing is counted by default.
    public var metrics: any CoordinatorMetrics = CoordinatorMetricsOff()
    /// When the step in flight sent its first STEP.
    var stepStartedAt: Double?
    /// This epoch's seconds spent waiting for gradients and in the optimizer, over its steps.
    var stepTimes: (wait: Double, optimizer: Double, steps: Int) = (0, 0, 0)

    /// The endpoint actually bound (useful with port 0).
    public var boundEndpoint: String { endpoint.boundEndpoint }

    /// `transport`: where the messages go; nil binds a ZeroMQ ROUTER at `settings.bind`. `clock`: the only clock
    /// the shell reads.
    /// `shardLinks`: with `settings.shards`, one connection per shard (nil: ZeroMQ DEALERs to their addresses).
    public init(settings requested: CoordinatorSettings, data: InteractionData, logger: Logger,
                transport: (any RouterTransport)? = nil, clock: any ShellClock = SystemClock(),
                shardLinks: [any DealerTransport]? = nil) throws {
        let problems = requested.problems()
        guard problems.isEmpty else { throw TrainerError(problems.joined(separator: "; ")) }
        guard data.trainCount > 0 else { throw TrainerError("dataset \(data.name) has no training interactions") }
        self.data = data
        self.logger = logger
        self.clock = clock
        try FileManager.default.createDirectory(atPath: requested.outputDirectory, withIntermediateDirectories: true)
        checkpoints = CheckpointStore(directory: requested.outputDirectory)
        shardCheckpoints = CheckpointStore(directory: requested.outputDirectory, prefix: ShardedCheckpoint.prefix)
        let start = try RunStart(settings: requested, data: data, checkpoints: checkpoints, logger: logger,
                                 shardLinks: shardLinks)
        let settings = start.settings
        self.settings = settings
        parameters = start.parameters
        runId = start.runId
        shape = RunShape(minibatchSize: settings.effectiveMinibatchSize, minibatchesPerStep: settings.minibatchesPerStep,
                         seed: settings.seed)
        let minibatches = (data.trainCount + settings.effectiveMinibatchSize - 1) / settings.effectiveMinibatchSize
        let schedule = TrainingSchedule(epochs: settings.epochs, minibatchesPerEpoch: minibatches,
                                        minibatchesPerStep: settings.minibatchesPerStep)
        machine = CoordinatorMachine(runId: runId, schedule: schedule, timings: settings.timings,
                                      minimumWorkers: settings.minimumWorkers, cursor: start.cursor,
                                      limits: settings.peerLimits)
        spec = TrainingSpec(users: data.userCount, items: data.itemCount, dim: settings.dim, loss: settings.loss,
                            sampler: settings.sampler, popularityAlpha: settings.popularityAlpha,
                            popularity: data.itemPopularity(), seed: settings.seed,
                            verifyReplicas: settings.verifyReplicas,
                            seenItems: settings.loss.needsSeenItems
                                ? SeenItems(users: data.trainUsers, items: data.trainItems, userCount: data.userCount,
                                            itemCount: data.itemCount)
                                : nil)
        guard let negatives = TaskNegatives(spec: spec) else {
            throw TrainerError("the run's loss and sampler cannot be used together (popularity counts unusable?)")
        }
        parameterCheck = ParameterCheck(dim: settings.dim, temperature: settings.loss.temperature)
        steps = StepBuilder(seed: settings.seed, minibatchSize: settings.effectiveMinibatchSize, data: data,
                            negatives: negatives)
        evaluator = RankingEvaluator(data: data, ks: settings.evaluationKs, sampleUsers: settings.evaluationUsers,
                                     sampleSeed: settings.seed)
        validationEvaluator = data.validationCount > 0
            ? RankingEvaluator(data: data, ks: settings.evaluationKs, target: .validation) : nil
        reporter = try RunReporter(outputDirectory: settings.outputDirectory, ks: settings.evaluationKs,
                                   validation: validationEvaluator != nil, append: start.resumed, logger: logger)
        // A resumed run picks up model selection where the metrics of the earlier epochs left it.
        policy = RunPolicy(rules: RunPolicy.Rules(epochs: settings.epochs, patience: settings.patience,
                                                  timeLimit: settings.timeLimit,
                                                  checkpointEverySteps: settings.checkpointEverySteps,
                                                  minibatchesPerEpoch: minibatches,
                                                  evaluateEvery: settings.evaluateEvery),
                           expectedAudit: EpochAudit.expected(for: data.trainCount), audit: start.audit,
                           recorded: reporter.previousEpochs, now: clock.now())
        endpoint = try transport ?? RouterEndpoint(
            bind: settings.bind, maxMessageBytes: settings.effectiveMaxMessageBytes, logger: logger,
            options: EndpointOptions(faults: settings.faults ?? .none, curve: settings.curve.map { .server($0) }))
        reporter.started(settings: settings, data: data, evaluator: evaluator, endpoint: endpoint.boundEndpoint)
    }

    /// Trains to the end. `supervise` is called about every 50 ms; it may throw to stop the run (for example when
    /// every locally started worker has exited). `stopRequested` returns a reason (`SIGTERM`) once training should
    /// stop early: the step in flight is finished and checkpointed, and the run ends to be resumed later.
    public func run(supervise: () throws -> Void = {}, stopRequested: () -> String? = { nil }) throws -> RunSummary {
        do {
            return try train(supervise: supervise, stopRequested: stopRequested)
        } catch let failure as ShardFailure {
            throw stopOnShardFailure(failure)
        }
    }

    /// A shard lost or refusing: the run stops at the last step every shard applied; the metrics and the error say
    /// which shard and from which checkpoint the run can be resumed (`--resume`, the shard restarted).
    private func stopOnShardFailure(_ failure: ShardFailure) -> TrainerError {
        let newest = shardCheckpoints.paths().first
        reporter.record(["event": "stopped", "reason": "shard_failed", "shard": failure.shard + 1,
                         "detail": failure.description, "step": Int(machine.currentStep),
                         "checkpoint": newest ?? NSNull()])
        reporter.close()
        return TrainerError("\(failure). "
            + (newest.map { "Restart the shard (with the same --state-dir) and run again with --resume: it continues from \($0)." }
               ?? "No checkpoint was taken before it: run again from the start."))
    }

    private func train(supervise: () throws -> Void, stopRequested: () -> String?) throws -> RunSummary {
        defer { checkpoints.waitForPendingWrites() }
        logger.info("coordinator listening on \(endpoint.boundEndpoint); \(data.name): \(data.userCount) users, \(data.itemCount) items, \(data.trainCount) training interactions; waiting for \(settings.minimumWorkers) worker(s)")
        if spec.carriesSeenItems {
            logger.info("\(spec.maskSeenItems ? "masking each user's training items among its negatives" : "leaving each user's training items out of its hard negatives"): \(spec.seenItems.count) distinct (user, item) pairs go to every worker in WELCOME (\(4 * (spec.seenItems.count + spec.users) / 1024) KiB)")
        }
        let minibatchesPerEpoch = machine.schedule.minibatchesPerEpoch
        let resumedAt = machine.cursor, sharded = parameters.local == nil
        try execute(policy.started(at: machine.cursor, now: clock.now(), available: { [checkpoints, runId] epoch in
            // A sharded run's shards hold the state of the step it resumed at only: that of an epoch that it ended.
            sharded ? epoch == resumedAt.epoch && resumedAt.minibatch >= minibatchesPerEpoch
                : RunStart.epochEnd(epoch, runId: runId, minibatchesPerEpoch: minibatchesPerEpoch, in: checkpoints) != nil
        }))
        var finished = machine.phase == .finished
        var lastSupervise = 0.0
        // The one check of whether the run goes on: `finished` is set when the machine says `.trainingFinished`
        // (its schedule ended, or the run policy ended it after an epoch); `supervise` may throw to abort instead.
        while !finished {
            // What arrived is taken before the timers run: after a long pause of this loop (a slow step, a shard
            // that needed a resend) a heartbeat waiting in the socket still counts, and its worker is not declared
            // dead for the coordinator's own delay.
            var directives: [CoordinatorDirective<PeerID>] = []
            var budget = 64
            var timeout = 20
            while budget > 0, let received = try endpoint.receive(timeoutMilliseconds: timeout) {
                budget -= 1
                timeout = 0
                switch received {
                case let .message(peer, envelope):
                    directives += machine.received(envelope.message, from: peer, now: clock.now(),
                                                   check: { self.steps.refusal(of: $0, store: self.parameters) })
                case let .malformed(peer, error):
                    noteRefusal("malformed", "a malformed message from \(peer): \(error)")
                    if let answer = Self.answer(to: error) { send(answer, to: peer) }
                }
            }
            directives += machine.tick(now: clock.now())
            finished = try execute(directives)
            try recordEvaluations(waiting: false)
            let now = clock.now()
            if !finished { finished = try checkStopRequest(stopRequested(), now: now) }
            if now - lastSupervise > 0.05 {
                lastSupervise = now
                metrics.update(workersAlive: machine.members.count, workersReady: machine.readyMembers.count,
                               resends: machine.resends, traffic: endpoint.traffic)
                if !finished && stop == nil { try supervise() }
            }
            if machine.phase == .waitingForWorkers {
                reporter.progress("waiting for workers: \(machine.readyMembers.count)/\(settings.minimumWorkers) ready", now: now)
            }
        }
        try recordEvaluations(waiting: true)
        checkpoints.waitForPendingWrites()
        try reporter.export(parameters, data: data)
        if stopped {
            reportStop()
        } else {
            reporter.selected(policy.selection, epochs: results.count, stoppedEarly: policy.stoppedEarly)
        }
        // SHUTDOWN may be lost: for a while, answer every message with it again. (Stopped early, the coordinator
        // leaves its workers waiting for it to come back.)
        let lingerUntil = stopped ? 0 : clock.now() + settings.timings.heartbeatInterval * 3 + 0.3
        while clock.now() < lingerUntil {
            if case let .message(peer, envelope)? = try endpoint.receive(timeoutMilliseconds: 20),
               envelope.message.tag != MessageTag.shutdown.rawValue {
                send(.shutdown(.finished, "training finished"), to: peer)
            }
        }
        endpoint.close()
        let traffic = endpoint.traffic
        metrics.update(workersAlive: 0, workersReady: 0, resends: machine.resends, traffic: traffic)
        let finalHash = try parameters.contentHash()
        let shardTraffic = parameters.shardTraffic
        parameters.close()
        let wall = clock.now() - policy.runStartedAt
        reporter.record(["event": "end", "stopped": stopped, "final_hash": String(finalHash, radix: 16),
                         "wall_seconds": wall, "steps": policy.stepsRun,
                         "replica_mismatches": replicaMismatches, "resends": machine.resends,
                         "members_lost": membersLost,
                         "seconds_to_first_step": (policy.firstStepAt ?? policy.runStartedAt) - policy.runStartedAt,
                         "wire_bytes_sent": traffic.bytesSent, "wire_bytes_received": traffic.bytesReceived,
                         "wire_messages_sent": traffic.messagesSent,
                         "wire_messages_received": traffic.messagesReceived,
                         "sparse_minimum_bytes_sent": sparseMinimum.sent,
                         "sparse_minimum_bytes_received": sparseMinimum.received,
                         "rejected": refusals, "hung_members": machine.hungMembers,
                         "shards": settings.shards.count,
                         "shard_bytes_sent": shardTraffic?.sent ?? 0, "shard_bytes_received": shardTraffic?.received ?? 0,
                         "shard_round_trips": parameters.shardRoundTrips ?? 0])
        reporter.close()
        return RunSummary(epochs: results, steps: policy.stepsRun, wallSeconds: clock.now() - policy.runStartedAt,
                          replicaMismatches: replicaMismatches, resends: machine.resends, membersLost: membersLost,
                          outputDirectory: settings.outputDirectory, finalHash: finalHash,
                          selection: policy.selection, stoppedEarly: policy.stoppedEarly,
                          stoppedBy: stopped ? stop?.reason : nil, lastStep: lastAppliedStep)
    }

    /// Human-readable lines saying which epoch each rule chose and its test figures.
    public static func selectionLines(_ selection: ModelSelection) -> [String] {
        RunReporter.selectionLines(selection)
    }

    // MARK: directives

    /// Carries out the protocol's directives (and those they lead to); true when training has finished.
    @discardableResult
    private func execute(_ initial: [CoordinatorDirective<PeerID>]) throws -> Bool {
        var queue = initial[...]
        var finished = false
        var stepStarted = false
        var rowsFetched = false
        while let directive = queue.popFirst() {
            switch directive {
            case let .send(peer, message):
                send(message, to: peer)
            case let .sendWelcome(peer, id):
                send(.welcome(workerId: id, runId: runId, currentVersion: parameters.version, spec: spec), to: peer)
            case let .sendStep(peer, _, tasks):
                if stepStartedAt == nil { stepStartedAt = clock.now() }
                policy.stepSent(now: clock.now())
                for key in tasks where countedTasks.insert(key).inserted {
                    sparseMinimum.sent += rowBytes(steps.reads(key).count)
                }
                if parameters.local == nil, !rowsFetched {
                    // The shards are asked once for the rows of every STEP of this batch.
                    rowsFetched = true
                    let others: [TaskKey] = queue.flatMap { directive -> [TaskKey] in
                        if case let .sendStep(_, _, more) = directive { more } else { [] }
                    }
                    if !others.isEmpty { try steps.fetchRows(tasks + others, store: parameters) }
                }
                let message = try steps.message(step: machine.currentStep, tasks: tasks, store: parameters)
                if settings.verifyReplicas {
                    // The hash of each task's own rows: the same whichever tasks shared its STEP (a resent task, a
                    // STEP of a coordinator before its restart), so any STEP that carried the task matches.
                    for key in tasks {
                        let hash = TablesHash.of(reads: steps.reads(key), in: message) ?? 0
                        if sentRowsHash[key]?.contains(hash) != true { sentRowsHash[key, default: []].append(hash) }
                    }
                }
                send(.step(message), to: peer)
            case let .accept(id, gradient):
                accept(gradient, from: id)
            case let .applyStep(_, tasks):
                try applyStep(tasks)
                if stop != nil, let boundary, checkpointedAtStep != policy.stepsRun { try checkpoint(resumeAt: boundary) }
                let next = machine.stepApplied(now: clock.now())
                if stop != nil, !next.contains(where: { if case .trainingFinished = $0 { true } else { false } }) {
                    try stopAfterStep(next)
                    finished = true
                } else {
                    queue.append(contentsOf: next)
                    stepStarted = true
                    rowsFetched = false
                }
            case let .epochFinished(epoch):
                try finishEpoch(epoch)
            case .trainingFinished:
                policy.trainingFinished()
                finished = true
            case let .memberJoined(id, name):
                reporter.memberJoined(id, name: name)
            case let .memberReady(id):
                logger.info("worker \(id) is ready at version \(parameters.version)")
            case let .memberLost(id, reason, reassigned):
                membersLost += 1
                metrics.workerLost()
                reporter.memberLost(id, reason: reason, reassigned: reassigned.count, step: machine.currentStep)
            case let .refused(peer, id, refusal):
                noteRefusal(refusal.key, "refused a message from \(id.map { "worker \($0)" } ?? "\(peer)"): \(refusal.detail)")
            case let .note(text):
                logger.debug("\(text)")
            }
        }
        if stepStarted && !finished { try prepareNextStep() }
        return finished
    }

    /// While the workers compute this step: the contracts of its GRADIENTs (`StepBuilder.prepareContracts`), and the
    /// next step's rows, caught up (`StepBuilder.prepare`): dense Adam's catch-up then costs the next STEP at most
    /// one step per row instead of all the steps the row missed.
    private func prepareNextStep() throws {
        guard machine.phase == .running else { return }
        steps.prepareContracts(store: parameters)
        guard settings.optimizer.kind == .denseAdam else { return }
        let c = machine.cursor, schedule = machine.schedule
        guard c.minibatch < schedule.minibatchesPerEpoch else { return }
        let end = min(c.minibatch + schedule.minibatchesPerStep, schedule.minibatchesPerEpoch)
        try steps.prepare((c.minibatch ..< end).map { TaskKey(epoch: UInt32(c.epoch), minibatch: UInt32($0)) }, store: parameters)
    }

    /// Carries out the run policy's directives.
    func execute(_ directives: [RunDirective]) throws {
        for directive in directives {
            switch directive {
            case let .checkpoint(resumeAt):
                try checkpoint(resumeAt: resumeAt)
            case let .evaluate(result):
                try startEvaluation(timedSteps(result))
            case let .record(result):
                evaluations.append((nil, timedSteps(result)))
                try recordEvaluations(waiting: false)
            case let .evaluateFromCheckpoint(epoch) where parameters.local == nil:
                logger.notice("epoch \(epoch + 1) ended before the restart without its figures in metrics.jsonl: evaluating it from the shards, restored to its end")
                try startEvaluation(policy.recoveredResult(epoch: epoch, audit: policy.audit))
            case let .evaluateFromCheckpoint(epoch):
                guard let (checkpoint, path) = RunStart.epochEnd(epoch, runId: runId,
                                                                 minibatchesPerEpoch: machine.schedule.minibatchesPerEpoch,
                                                                 in: checkpoints) else { continue }
                logger.notice("epoch \(epoch + 1) ended before the restart without its figures in metrics.jsonl: evaluating it from \(path)")
                try startEvaluation(policy.recoveredResult(epoch: epoch, audit: checkpoint.audit),
                                    users: checkpoint.users, items: checkpoint.items)
            case let .keepBest(epoch):
                if let evaluation = lastRecorded, evaluation.epoch == epoch, let users = evaluation.users {
                    reporter.keepBest(epoch: epoch, users: users, items: evaluation.items)
                }
            case let .endAfterEpoch(epoch):
                machine.endAfterEpoch(epoch)
            case let .announce(event):
                reporter.announce(event, evaluationK: settings.evaluationKs[0])
            }
        }
    }

    /// The epoch's figures with the mean wait and optimizer time of its steps; the step times start again.
    private func timedSteps(_ result: EpochResult) -> EpochResult {
        var timed = result
        if stepTimes.steps > 0 {
            timed.stepWaitSeconds = stepTimes.wait / Double(stepTimes.steps)
            timed.stepOptimizerSeconds = stepTimes.optimizer / Double(stepTimes.steps)
        }
        stepTimes = (0, 0, 0)
        return timed
    }

    /// Starts evaluating these tables as the end of `result.epoch`, after the evaluation before it has finished.
    private func startEvaluation(_ result: EpochResult, users: EmbeddingTable, items: EmbeddingTable) throws {
        try recordEvaluations(waiting: true)
        start(EpochEvaluation(epoch: result.epoch, evaluator: evaluator, validationEvaluator: validationEvaluator,
                              users: users, items: items, cosine: settings.loss.similarity == .cosine, clock: clock),
              result)
    }

    /// Starts evaluating the current parameters as the end of `result.epoch`. With shards the tables are gathered
    /// for it (and not copied again); when only a sample of the users is evaluated, only their rows.
    private func startEvaluation(_ result: EpochResult) throws {
        guard case let .sharded(shards) = parameters.holder else {
            let tables = try parameters.rankingTables()
            return try startEvaluation(result, users: tables.users, items: tables.items)
        }
        try recordEvaluations(waiting: true)
        let cosine = settings.loss.similarity == .cosine
        let items = try shards.table(.items)
        if evaluator.isSampled && validationEvaluator == nil {
            start(EpochEvaluation(epoch: result.epoch, evaluator: evaluator,
                                  sampledUsers: try shards.userRows(evaluator.evaluatedUsers), ownedItems: items,
                                  cosine: cosine, clock: clock), result)
        } else {
            start(EpochEvaluation(epoch: result.epoch, evaluator: evaluator, validationEvaluator: validationEvaluator,
                                  users: try shards.table(.users), items: items, cosine: cosine, clock: clock,
                                  owned: true), result)
        }
    }

    private func start(_ evaluation: EpochEvaluation, _ result: EpochResult) {
        evaluation.start()
        evaluations.append((evaluation, result))
    }

    /// Records the evaluations that have finished (waiting for all of them if `waiting`) and the epochs that are not
    /// evaluated, in epoch order, and hands each to the run policy.
    private func recordEvaluations(waiting: Bool) throws {
        while let (evaluation, partial) = evaluations.first {
            var result = partial
            if let evaluation {
                guard let metrics = evaluation.metrics(waiting: waiting ? 1e6 : 0) else { break }
                result.metrics = metrics.test
                result.validationMetrics = metrics.validation
                result.evaluationSeconds = evaluation.seconds
                result.elapsedSeconds += evaluation.seconds
                self.metrics.epochEvaluated(epoch: result.epoch + 1,
                                            recall: Dictionary(result.metrics.map { ($0.k, $0.recall) }) { a, _ in a })
                // Kept for exporting the epoch that model selection chooses, which needs the whole user table.
                lastRecorded = evaluation.users == nil ? nil : evaluation
            }
            evaluations.removeFirst()
            results.append(result)
            reporter.epochRecorded(result)
            try execute(policy.evaluated(result, epochInProgress: machine.cursor.epoch))
        }
    }

    /// Epoch `epoch` ended: the whole state is checked, then the run policy audits and evaluates it.
    private func finishEpoch(_ epoch: Int) throws {
        if let problem = try parameters.firstOutOfRange() {
            try stopPoisoned("the audit of epoch \(epoch + 1) found an unusable parameter (\(problem))")
        }
        try execute(policy.epochFinished(epoch, now: clock.now()))
        policy.nextEpochStarted(now: clock.now())
    }

    // MARK: stopping on a signal

    /// Takes a stop request; true when training ends now, at the last applied step (see `GracefulStop`).
    private func checkStopRequest(_ reason: String?, now: Double) throws -> Bool {
        if stop == nil, let reason {
            stop = GracefulStop(reason: reason, requestedAt: now)
            reporter.clearProgress()
            logger.notice("\(reason): stopping after the step in progress (step \(machine.currentStep)), with a checkpoint")
        }
        guard let stop, stop.stopsWithoutStep(waitingForWorkers: machine.phase == .waitingForWorkers, now: now) else {
            return false
        }
        if machine.phase != .waitingForWorkers {
            logger.warning("step \(machine.currentStep) did not finish within \(Int(stop.grace)) s of \(stop.reason): stopping at the step before it")
        }
        stopped = true
        if let boundary, checkpointedAtStep != policy.stepsRun { try checkpoint(resumeAt: boundary) }
        return true
    }

    /// Training stops right after an applied step: an epoch that it ended is still evaluated and reported; the
    /// next step (`next`'s STEPs) is not sent.
    private func stopAfterStep(_ next: [CoordinatorDirective<PeerID>]) throws {
        stopped = true
        policy.trainingFinished()   // an epoch this step ended is the last: it is evaluated
        for directive in next {
            if case let .epochFinished(epoch) = directive { try finishEpoch(epoch) }
        }
    }

    /// The last step applied (0 when none ever was).
    var lastAppliedStep: Int { Int(boundary?.step ?? machine.cursor.step) - 1 }

    private func reportStop() {
        let step = lastAppliedStep
        let checkpointed = step > 0 && (boundary == nil || checkpointedAtStep == policy.stepsRun)
        reporter.clearProgress()
        reporter.record(["event": "stopped", "reason": stop?.reason ?? "", "step": step,
                         "epoch": (boundary?.epoch ?? machine.cursor.epoch) + 1, "checkpoint": checkpointed])
        let where_ = checkpointed && !shardCheckpointsRefused ? "; checkpoint in \(settings.outputDirectory)"
            : shardCheckpointsRefused ? "; the shards keep no checkpoints" : ", before any step was checkpointed"
        logger.notice("stopped on \(stop?.reason ?? "request") after step \(step)\(where_)")
    }
}
