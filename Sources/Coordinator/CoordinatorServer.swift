import Dataset
import Foundation
import Kernels
import Logging
import Replication
import Transport
import Wire

/// The coordinator's shell: owns the socket, the training state and the reports, and carries out the directives of
/// `CoordinatorProtocol`.
public final class CoordinatorServer {
    public let settings: CoordinatorSettings
    public let data: InteractionData
    private let logger: Logger
    private let endpoint: RouterEndpoint
    private let state: TrainingState
    private var machine: CoordinatorProtocol<PeerID>
    private let spec: TrainingSpec
    private let runId: UInt64
    private let shape: RunShape
    private let checkpoints: CheckpointStore
    private let reporter: RunReporter
    private let evaluator: RankingEvaluator
    /// Scores the validation split; nil without one.
    private let validationEvaluator: RankingEvaluator?
    private var selection: ModelSelection
    private var stoppedEarly = false
    private var timeLimitReached = false
    /// The delta that the current STEP carries.
    private var delta: StepDelta
    private var plan: (epoch: Int, plan: EpochPlan)?
    private var stepTasks: [TaskKey: MinibatchTask] = [:]
    /// What each task's GRADIENT must satisfy (`GradientContract`), derived when the task is first checked.
    private var contracts: [TaskKey: GradientContract] = [:]
    private let negatives: TaskNegatives
    /// What parameters may hold (finite, and small enough that similarities cannot overflow).
    private let parameterCheck: ParameterCheck
    /// Refused messages by `Refusal.key` (and "malformed" for frames that did not decode), for `metrics.jsonl`.
    private var refusals: [String: Int] = [:]
    /// When a refusal of each key was last logged, and how many were not logged since.
    private var refusalLog: [String: (time: Double, held: Int)] = [:]
    private var accepted: [TaskKey: Gradient] = [:]
    private var audit: EpochAudit
    private let expectedAudit: EpochAudit
    private var epochLoss = (sum: 0.0, examples: 0)
    private var epochStart: Double
    private var evaluations: [(EpochEvaluation, EpochResult)] = []
    private var results: [EpochResult] = []
    private var hashAtVersion: (version: UInt64, hash: UInt64)?
    private var replicaMismatches = 0
    private var membersLost = 0
    private var sequence: UInt64 = 0
    private var stepsRun = 0
    /// What the sparse parameter traffic cannot go below, in bytes of row ids and f32 values: the GRADIENT rows of
    /// every applied minibatch (received) and the delta rows of each step's STEP, once per worker it went to (sent).
    private var sparseMinimum = (sent: 0, received: 0)
    /// The workers that got the current step's delta (a resent or reassigned STEP repeats it: not minimum).
    private var deltaRecipients: Set<PeerID> = []
    /// When the first STEP went out: waiting for workers and their snapshots is not training, so the first epoch's
    /// clock starts there.
    private var firstStepAt: Double?
    /// When `run` began (MonotonicClock): epochs report the wall time since.
    private var runStartedAt = MonotonicClock.now()
    /// A request to stop before the end (SIGTERM), and whether training stopped on it (see `checkStopRequest`).
    private var stop: GracefulStop?
    private var stopped = false
    /// The cursor of the state after the last applied step, and `stepsRun` when a checkpoint was last taken.
    private var boundary: TrainingCursor?
    private var checkpointedAtStep = 0

    /// Where the operator's figures go (Prometheus, from the executable); nothing is counted by default.
    public var metrics: any CoordinatorMetrics = CoordinatorMetricsOff()
    /// When the step in flight sent its first STEP.
    private var stepStartedAt: Double?

    /// The endpoint actually bound (useful with port 0).
    public var boundEndpoint: String { endpoint.boundEndpoint }

    public init(settings requested: CoordinatorSettings, data: InteractionData, logger: Logger) throws {
        var settings = requested
        let problems = settings.problems()
        guard problems.isEmpty else { throw TrainerError(problems.joined(separator: "; ")) }
        guard data.trainCount > 0 else { throw TrainerError("dataset \(data.name) has no training interactions") }
        self.data = data
        self.logger = logger
        try FileManager.default.createDirectory(atPath: settings.outputDirectory, withIntermediateDirectories: true)
        checkpoints = CheckpointStore(directory: settings.outputDirectory)

        var cursor = TrainingCursor()
        let resumed = settings.resume ? checkpoints.newestValid() : nil
        if let (checkpoint, _, _) = resumed {
            let shape = checkpoint.shape
            if shape != RunShape(minibatchSize: settings.effectiveMinibatchSize,
                                 minibatchesPerStep: settings.minibatchesPerStep, seed: settings.seed) {
                logger.notice("resuming with the checkpoint's minibatch size \(shape.minibatchSize), \(shape.minibatchesPerStep) minibatches per step and seed \(shape.seed)")
            }
            settings.minibatchSize = shape.minibatchSize
            settings.batchSize = shape.minibatchSize * shape.minibatchesPerStep
            settings.seed = shape.seed
        }
        self.settings = settings
        shape = RunShape(minibatchSize: settings.effectiveMinibatchSize, minibatchesPerStep: settings.minibatchesPerStep,
                         seed: settings.seed)
        let minibatches = (data.trainCount + settings.effectiveMinibatchSize - 1) / settings.effectiveMinibatchSize
        let schedule = TrainingSchedule(epochs: settings.epochs, minibatchesPerEpoch: minibatches,
                                        minibatchesPerStep: settings.minibatchesPerStep)
        if let (checkpoint, path, skipped) = resumed {
            for reason in skipped { logger.warning("passed over a checkpoint: \(reason)") }
            guard checkpoint.users.rows == data.userCount, checkpoint.items.rows == data.itemCount,
                  checkpoint.users.dim == settings.dim else {
                throw TrainerError("\(path) holds \(checkpoint.users.rows) users × \(checkpoint.items.rows) items, d \(checkpoint.users.dim); this run has \(data.userCount) × \(data.itemCount), d \(settings.dim)")
            }
            state = try checkpoint.restore(optimizer: settings.optimizer)
            runId = checkpoint.runId
            cursor = checkpoint.cursor
            audit = checkpoint.audit
            logger.notice("resuming from \(path): step \(cursor.step), epoch \(cursor.epoch + 1), version \(cursor.version)")
        } else {
            if settings.resume { logger.warning("no valid checkpoint in \(settings.outputDirectory); starting afresh") }
            state = TrainingState(userCount: data.userCount, itemCount: data.itemCount, dim: settings.dim,
                                  initStd: settings.initStd, seed: settings.seed, momentum: settings.momentum,
                                  optimizer: settings.optimizer)
            var random = SystemRandomNumberGenerator()
            runId = UInt64.random(in: 1 ... .max, using: &random)
            audit = EpochAudit()
        }
        machine = CoordinatorProtocol(runId: runId, schedule: schedule, timings: settings.timings,
                                      minimumWorkers: settings.minimumWorkers, cursor: cursor,
                                      limits: settings.peerLimits)
        delta = .empty(at: cursor.version, dim: settings.dim)
        expectedAudit = EpochAudit.expected(for: data.trainCount)
        spec = TrainingSpec(users: data.userCount, items: data.itemCount, dim: settings.dim, loss: settings.loss,
                            sampler: settings.sampler, popularityAlpha: settings.popularityAlpha,
                            popularity: data.itemPopularity(), seed: settings.seed,
                            verifyReplicas: settings.verifyReplicas,
                            seenItems: settings.loss.maskSeenItems
                                ? SeenItems(users: data.trainUsers, items: data.trainItems, userCount: data.userCount,
                                            itemCount: data.itemCount)
                                : nil)
        guard let negatives = TaskNegatives(spec: spec) else {
            throw TrainerError("the run's loss and sampler cannot be used together (popularity counts unusable?)")
        }
        self.negatives = negatives
        parameterCheck = ParameterCheck(dim: settings.dim, temperature: spec.temperature)
        evaluator = RankingEvaluator(data: data, ks: settings.evaluationKs)
        validationEvaluator = data.validationCount > 0
            ? RankingEvaluator(data: data, ks: settings.evaluationKs, target: .validation) : nil
        reporter = try RunReporter(metricsPath: settings.outputDirectory + "/metrics.jsonl", ks: settings.evaluationKs,
                                   validation: validationEvaluator != nil, append: resumed != nil)
        // A resumed run picks up model selection where the metrics of the earlier epochs left it.
        selection = ModelSelection(patience: settings.patience)
        for previous in reporter.previousEpochs where previous.epoch + 1 > selection.lastEpoch {
            selection.record(epoch: previous.epoch + 1, test: previous.metrics, validation: previous.validationMetrics)
        }

        endpoint = try RouterEndpoint(bind: settings.bind, maxMessageBytes: settings.effectiveMaxMessageBytes,
                                      logger: logger, options: EndpointOptions(faults: settings.faults ?? .none,
                                                               curve: settings.curve.map { .server($0) }))
        epochStart = MonotonicClock.now()
        reporter.record([
            "event": "start", "dataset": data.name, "users": data.userCount, "items": data.itemCount,
            "train": data.trainCount, "epochs": settings.epochs, "dim": settings.dim, "batch_size": settings.batchSize,
            "minibatch_size": settings.effectiveMinibatchSize, "negatives": settings.loss.negatives,
            "temperature": Double(settings.loss.temperature), "loss": "\(settings.loss.kind)",
            "positive_temperature": settings.loss.positiveTemperature.map { Double($0) } ?? NSNull(),
            "live_negatives": settings.loss.liveNegatives, "optimizer": settings.optimizer.kind.rawValue,
            "lr": Double(settings.optimizer.learningRate), "weight_decay": Double(settings.optimizer.weightDecay),
            "lr_schedule": "\(settings.learningRateSchedule)",
            "seed": settings.seed, "workers": settings.minimumWorkers, "endpoint": endpoint.boundEndpoint,
            "validation": data.validationCount, "patience": settings.patience,
            "similarity": "\(settings.loss.similarity)", "preset": settings.preset?.record ?? NSNull(),  // report, recommend
        ])
        if resumed != nil, selection.shouldStop {
            logger.notice("the validation score had not improved for \(selection.epochsWithoutImprovement) epoch(s) before the restart: training ends with the epoch in progress")
            stoppedEarly = true
            machine.endAfterEpoch(cursor.epoch)
        }
    }

    /// Trains to the end. `supervise` is called about every 50 ms; it may throw to stop the run (for example when
    /// every locally started worker has exited). `stopRequested` returns a reason (`SIGTERM`) once training should
    /// stop early: the step in flight is finished and checkpointed, and the run ends to be resumed later.
    public func run(supervise: () throws -> Void = {}, stopRequested: () -> String? = { nil }) throws -> RunSummary {
        runStartedAt = MonotonicClock.now()
        defer { checkpoints.waitForPendingWrites() }
        logger.info("coordinator listening on \(endpoint.boundEndpoint); \(data.name): \(data.userCount) users, \(data.itemCount) items, \(data.trainCount) training interactions; waiting for \(settings.minimumWorkers) worker(s)")
        if spec.maskSeenItems {
            logger.info("masking each user's training items among its negatives: \(spec.seenItems.count) distinct (user, item) pairs go to every worker in WELCOME (\(4 * (spec.seenItems.count + spec.users) / 1024) KiB)")
        }
        var finished = machine.phase == .finished
        var lastSupervise = 0.0
        while !finished {
            var directives = machine.tick(now: MonotonicClock.now())
            var budget = 64
            var timeout = 20
            while budget > 0, let received = try endpoint.receive(timeoutMilliseconds: timeout) {
                budget -= 1
                timeout = 0
                switch received {
                case let .message(peer, envelope):
                    directives += machine.received(envelope.message, from: peer, now: MonotonicClock.now(),
                                                   check: { self.refusal(of: $0) })
                case let .malformed(peer, error):
                    noteRefusal("malformed", "a malformed message from \(peer): \(error)")
                    if let answer = Self.answer(to: error) { send(answer, to: peer) }
                }
            }
            finished = try execute(directives)
            reportEvaluations(waiting: false)
            let now = MonotonicClock.now()
            if !finished { finished = checkStopRequest(stopRequested(), now: now) }
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
        reportEvaluations(waiting: true)
        checkpoints.waitForPendingWrites()
        try exportResults()
        if stopped { reportStop() } else { reportSelection() }
        // SHUTDOWN may be lost: for a while, answer every message with it again. (Stopped early, the coordinator
        // leaves its workers waiting for it to come back.)
        let lingerUntil = stopped ? 0 : MonotonicClock.now() + settings.timings.heartbeatInterval * 3 + 0.3
        while MonotonicClock.now() < lingerUntil {
            if case let .message(peer, envelope)? = try endpoint.receive(timeoutMilliseconds: 20),
               envelope.message.tag != MessageTag.shutdown.rawValue {
                send(.shutdown(.finished, "training finished"), to: peer)
            }
        }
        endpoint.close()
        let traffic = endpoint.traffic
        metrics.update(workersAlive: 0, workersReady: 0, resends: machine.resends, traffic: traffic)
        let finalHash = state.contentHash()
        reporter.record(["event": "end", "stopped": stopped, "final_hash": String(finalHash, radix: 16),
                         "wall_seconds": MonotonicClock.now() - runStartedAt, "steps": stepsRun,
                         "replica_mismatches": replicaMismatches, "resends": machine.resends,
                         "members_lost": membersLost, "seconds_to_first_step": (firstStepAt ?? runStartedAt) - runStartedAt,
                         "wire_bytes_sent": traffic.bytesSent, "wire_bytes_received": traffic.bytesReceived,
                         "wire_messages_sent": traffic.messagesSent,
                         "wire_messages_received": traffic.messagesReceived,
                         "sparse_minimum_bytes_sent": sparseMinimum.sent,
                         "sparse_minimum_bytes_received": sparseMinimum.received,
                         "rejected": refusals, "hung_members": machine.hungMembers])
        reporter.close()
        return RunSummary(epochs: results, steps: stepsRun, wallSeconds: MonotonicClock.now() - runStartedAt,
                          replicaMismatches: replicaMismatches, resends: machine.resends, membersLost: membersLost,
                          outputDirectory: settings.outputDirectory, finalHash: finalHash,
                          selection: selection, stoppedEarly: stoppedEarly,
                          stoppedBy: stopped ? stop?.reason : nil, lastStep: lastAppliedStep)
    }

    // MARK: directives

    /// Carries out directives (and those they lead to); true when training has finished.
    private func execute(_ initial: [CoordinatorDirective<PeerID>]) throws -> Bool {
        var queue = initial[...]
        var finished = false
        while let directive = queue.popFirst() {
            switch directive {
            case let .send(peer, message):
                send(message, to: peer)
            case let .sendWelcome(peer, id):
                send(.welcome(workerId: id, runId: runId, currentVersion: state.version, spec: spec), to: peer)
            case let .sendSnapshot(peer, id):
                let chunks = SnapshotChunker.chunks(version: state.version, users: state.users, items: state.items,
                                                    bank: state.bank.table)
                logger.info("sending worker \(id) a snapshot at version \(state.version) (\(chunks.count) chunks)")
                for chunk in chunks { send(.snapshot(chunk), to: peer) }
            case let .sendStep(peer, _, tasks):
                if stepStartedAt == nil { stepStartedAt = MonotonicClock.now() }
                if firstStepAt == nil {
                    firstStepAt = MonotonicClock.now()
                    epochStart = firstStepAt!
                }
                if deltaRecipients.insert(peer).inserted {
                    sparseMinimum.sent += rowBytes(delta.users.count + delta.items.count + delta.bank.count)
                }
                send(.step(stepMessage(tasks: tasks)), to: peer)
            case let .accept(id, gradient):
                accept(gradient, from: id)
            case let .applyStep(_, tasks):
                try applyStep(tasks)
                checkpointIfDue()
                queue.append(contentsOf: machine.stepApplied(now: MonotonicClock.now()))
            case let .epochFinished(epoch):
                if let problem = parameterCheck.firstOutOfRange(in: state) {
                    try stopPoisoned("the audit of epoch \(epoch + 1) found an unusable parameter (\(problem))")
                }
                finishEpoch(epoch)
            case .trainingFinished:
                finished = true
            case let .memberJoined(id, name):
                logger.info("worker \(id) (\(name)) joined")
                reporter.record(["event": "member_joined", "worker": Int(id), "name": name])  // the report's timeline
            case let .memberReady(id):
                logger.info("worker \(id) is ready at version \(state.version)")
            case let .memberLost(id, reason, reassigned):
                membersLost += 1
                metrics.workerLost()
                reporter.clearProgress()
                logger.warning("worker \(id) declared dead (\(reason)); reassigned \(reassigned.count) minibatch(es)")
                reporter.record(["event": "member_lost", "worker": Int(id), "reason": reason,
                                 "reassigned": reassigned.count, "step": Int(machine.currentStep)])
            case let .refused(peer, id, refusal):
                noteRefusal(refusal.key, "refused a message from \(id.map { "worker \($0)" } ?? "\(peer)"): \(refusal.detail)")
            case let .note(text):
                logger.debug("\(text)")
            }
        }
        return finished
    }

    /// The rule a GRADIENT for a task of the current step breaks, or nil (asked by the protocol only for gradients
    /// that answer a task assigned to their sender).
    private func refusal(of gradient: Gradient) -> Refusal? {
        let key = TaskKey(epoch: gradient.epoch, minibatch: gradient.minibatch)
        if let contract = contracts[key] { return contract.refusal(of: gradient) }
        let contract = negatives.contract(for: task(key), users: state.users, items: state.items, bank: state.bank.table)
        contracts[key] = contract
        return contract.refusal(of: gradient)
    }

    /// Counts a refused message by `key` and logs it, at most one line per key a second (saying how many were held).
    private func noteRefusal(_ key: String, _ text: String) {
        refusals[key, default: 0] += 1
        metrics.rejected(reason: key)
        let now = MonotonicClock.now()
        if let last = refusalLog[key], now - last.time < 1 {
            refusalLog[key] = (last.time, last.held + 1)
            return
        }
        let held = refusalLog[key]?.held ?? 0
        refusalLog[key] = (now, 0)
        logger.warning("\(text)\(held > 0 ? " (\(held) more of this kind not logged)" : "")")
    }

    /// Ends the run without sending, saving or exporting the non-finite state: the workers are told, the metrics
    /// say why, and the error names the newest checkpoint (all of them predate the damage).
    private func stopPoisoned(_ what: String) throws -> Never {
        for member in machine.members.values {
            send(.shutdown(.error, "the coordinator stopped: \(what)"), to: member.peer)
        }
        checkpoints.waitForPendingWrites()
        let newest = checkpoints.paths().first
        reporter.record(["event": "stopped", "reason": "unusable_parameters", "detail": what,
                         "step": Int(machine.currentStep), "checkpoint": newest ?? NSNull(), "rejected": refusals])
        reporter.close()
        endpoint.close()
        throw TrainerError("\(what); stopping rather than training on it. "
            + (newest.map { "The newest checkpoint, \($0), predates it: fix the cause (learning rate, loss settings) and run again with --resume." }
               ?? "No checkpoint was written before it."))
    }

    /// Bytes of `rows` rows on the wire at the least: a u32 id and d f32 values each.
    private func rowBytes(_ rows: Int) -> Int { rows * (settings.dim * 4 + 4) }

    private func send(_ message: Message, to peer: PeerID) {
        sequence += 1
        do {
            try endpoint.send(Envelope(sender: 0, sequence: sequence, message: message), to: peer)
        } catch {
            logger.warning("could not send \(message.name) to \(peer): \(error)")
        }
    }

    /// The STEP for the current step with these tasks: materialised once per step from the epoch plan.
    private func stepMessage(tasks keys: [TaskKey]) -> Step {
        let tasks = keys.map(task)
        return Step(step: machine.currentStep, baseVersion: delta.baseVersion, version: delta.version,
                    userDelta: RowBlock(delta.users), itemDelta: RowBlock(delta.items), bankDelta: RowBlock(delta.bank),
                    tasks: tasks)
    }

    /// Task `key` of the current step: materialised once per step from the epoch plan.
    private func task(_ key: TaskKey) -> MinibatchTask {
        if let task = stepTasks[key] { return task }
        if plan?.epoch != Int(key.epoch) {
            plan = (Int(key.epoch), EpochPlan(seed: settings.seed, epoch: Int(key.epoch),
                                              interactionCount: data.trainCount,
                                              minibatchSize: settings.effectiveMinibatchSize))
        }
        let indices = plan!.plan.interactions(inMinibatch: Int(key.minibatch))
        let task = MinibatchTask(epoch: key.epoch, minibatch: key.minibatch, users: indices.map { data.trainUsers[Int($0)] },
                                 items: indices.map { data.trainItems[Int($0)] })
        stepTasks[key] = task
        return task
    }

    private func accept(_ gradient: Gradient, from id: UInt32) {
        let key = TaskKey(epoch: gradient.epoch, minibatch: gradient.minibatch)
        if settings.verifyReplicas {
            if hashAtVersion?.version != state.version { hashAtVersion = (state.version, state.contentHash()) }
            if gradient.replicaHash != hashAtVersion!.hash {
                replicaMismatches += 1
                logger.error("worker \(id)'s replica hash at version \(state.version) is \(String(gradient.replicaHash, radix: 16)), expected \(String(hashAtVersion!.hash, radix: 16))")
            }
        }
        accepted[key] = gradient
    }

    private func applyStep(_ keys: [TaskKey]) throws {
        var contributions: [MinibatchContribution] = []
        for key in keys {
            guard let g = accepted[key], let task = stepTasks[key] else {
                preconditionFailure("step \(machine.currentStep) applied without the gradient of \(key)")
            }
            precondition(Int(g.examples) == task.users.count,
                         "gradient of \(key) counts \(g.examples) examples; the minibatch has \(task.users.count)")
            contributions.append(MinibatchContribution(examples: Int(g.examples), lossSum: g.lossSum,
                                                       users: SparseRows(g.users), items: SparseRows(g.items),
                                                       positives: task.items))
            audit.add(plan!.plan.interactions(inMinibatch: Int(key.minibatch)))
            epochLoss.sum += g.lossSum
            epochLoss.examples += Int(g.examples)
            sparseMinimum.received += rowBytes(g.users.ids.count + g.items.ids.count)
        }
        // The planned run, whatever early stopping or a time limit later make of it.
        let planned = machine.schedule.stepsPerEpoch * settings.epochs
        delta = state.apply(contributions, learningRateScale: settings.learningRateSchedule.scale(
            step: Int(machine.currentStep), totalSteps: planned))
        if let problem = parameterCheck.firstOutOfRange(in: delta) {
            try stopPoisoned("step \(machine.currentStep) made a parameter unusable (\(problem))")
        }
        if let limit = settings.timeLimit, !timeLimitReached, let first = firstStepAt,
           MonotonicClock.now() - first >= limit {
            timeLimitReached = true
            machine.endAfterEpoch(machine.cursor.epoch)
            logger.notice("time limit of \(Int(limit)) s reached: training ends with epoch \(machine.schedule.epochs)")
            reporter.record(["event": "time_limit", "after_epoch": machine.schedule.epochs])
        }
        accepted.removeAll(keepingCapacity: true)
        stepTasks.removeAll(keepingCapacity: true)
        contracts.removeAll(keepingCapacity: true)
        deltaRecipients.removeAll(keepingCapacity: true)
        stepsRun += 1
        let now = MonotonicClock.now()
        let schedule = machine.schedule
        let stepInEpoch = (machine.cursor.minibatch + schedule.minibatchesPerStep - 1) / schedule.minibatchesPerStep
        let rate = Double(epochLoss.examples) / max(now - epochStart, 1e-9)
        let remaining = Double(schedule.totalSteps - Int(machine.cursor.step)) * (now - epochStart) / Double(max(stepInEpoch, 1))
        metrics.stepApplied(seconds: now - (stepStartedAt ?? now), examples: contributions.reduce(0) { $0 + $1.examples },
                            epoch: machine.cursor.epoch + 1, meanLoss: epochLoss.sum / Double(max(epochLoss.examples, 1)),
                            examplesPerSecond: rate)
        stepStartedAt = nil
        reporter.progress(String(format: "epoch %d/%d  step %d/%d  %.0f examples/s  loss %.4f  ETA %@",
                                 machine.cursor.epoch + 1, schedule.epochs, stepInEpoch, schedule.stepsPerEpoch, rate,
                                 epochLoss.sum / Double(max(epochLoss.examples, 1)), Self.duration(remaining)),
                          now: now)
    }

    /// Checkpoints the state right after an applied step (before the next starts) at epoch ends and every
    /// `checkpointEverySteps` steps (`force`: now).
    private func checkpointIfDue(force: Bool = false) {
        let c = machine.cursor
        let endOfEpoch = c.minibatch >= machine.schedule.minibatchesPerEpoch
        let due = settings.checkpointEverySteps > 0 && stepsRun % settings.checkpointEverySteps == 0
        let resumeAt = TrainingCursor(step: c.step + 1, version: state.version, epoch: c.epoch, minibatch: c.minibatch)
        boundary = resumeAt
        guard force || endOfEpoch || due else { return }
        checkpoint(at: resumeAt)
    }

    /// Checkpoints the state, which must be the state at `resumeAt` (a step boundary).
    private func checkpoint(at resumeAt: TrainingCursor) {
        checkpointedAtStep = stepsRun
        // Encoded here, at this step boundary; written while training goes on.
        let started = MonotonicClock.now()
        let logger = logger
        let metrics = metrics
        checkpoints.saveInBackground(Checkpoint(runId: runId, cursor: resumeAt, shape: shape, audit: audit,
                                                state: state)) { result in
            switch result {
            case let .success(path):
                metrics.checkpointWritten()
                logger.debug("checkpoint \(path), \(String(format: "%.2f", MonotonicClock.now() - started)) s after it was taken")
            case let .failure(error):
                logger.error("checkpoint failed: \(error)")
            }
        }
    }

    private func finishEpoch(_ epoch: Int) {
        let now = MonotonicClock.now()
        if epoch + 1 <= selection.lastEpoch && epochLoss.examples == 0 {
            // Resumed from the checkpoint taken at this epoch's end: it was evaluated and reported before.
            audit = EpochAudit()
            epochStart = now
            return
        }
        let exact = audit == expectedAudit
        if !exact {
            logger.error("epoch \(epoch + 1) audit: \(audit.count) interactions applied, \(expectedAudit.count) expected, hashes \(audit == expectedAudit ? "equal" : "differ")")
        }
        var result = EpochResult(epoch: epoch, meanLoss: epochLoss.sum / Double(max(epochLoss.examples, 1)),
                                 examples: epochLoss.examples, trainSeconds: now - epochStart, auditExact: exact,
                                 audit: audit, metrics: [], evaluationSeconds: 0)
        result.elapsedSeconds = now - runStartedAt   // the evaluation's own time is added when it reports
        // One evaluation at a time: wait for the previous one first.
        reportEvaluations(waiting: true)
        let evaluation = EpochEvaluation(epoch: epoch, evaluator: evaluator, validationEvaluator: validationEvaluator,
                                         users: state.users, items: state.items,
                                         cosine: settings.loss.similarity == .cosine)
        evaluation.start()
        evaluations.append((evaluation, result))
        audit = EpochAudit()
        epochLoss = (0, 0)
        epochStart = MonotonicClock.now()
    }

    private func reportEvaluations(waiting: Bool) {
        while let (evaluation, partial) = evaluations.first,
              let metrics = evaluation.metrics(waiting: waiting ? 1e6 : 0) {
            evaluations.removeFirst()
            var result = partial
            result.metrics = metrics.test
            result.validationMetrics = metrics.validation
            result.evaluationSeconds = evaluation.seconds
            result.elapsedSeconds += evaluation.seconds
            results.append(result)
            self.metrics.epochEvaluated(epoch: result.epoch + 1,
                                        recall: Dictionary(result.metrics.map { ($0.k, $0.recall) }) { a, _ in a })
            reporter.printEpoch(result)
            select(result, evaluation: evaluation)
        }
    }

    /// Model selection after an evaluated epoch: the validation choice's tables are written out, and training is
    /// told to end when the validation score has stopped improving.
    private func select(_ result: EpochResult, evaluation: EpochEvaluation) {
        guard result.epoch + 1 > selection.lastEpoch else { return }
        if selection.record(epoch: result.epoch + 1, test: result.metrics, validation: result.validationMetrics) {
            let dir = settings.outputDirectory
            do {
                try NpyFile.write(evaluation.users, to: dir + "/best_user_embeddings.npy")
                try NpyFile.write(evaluation.items, to: dir + "/best_item_embeddings.npy")
            } catch {
                logger.error("could not write the embeddings of epoch \(result.epoch + 1): \(error)")
            }
        }
        if selection.shouldStop && !stoppedEarly && machine.phase != .finished {
            stoppedEarly = true
            let k = settings.evaluationKs[0]
            logger.notice("validation Recall@\(k) has not improved for \(selection.epochsWithoutImprovement) epoch(s) (best: epoch \(selection.byValidation!.epoch)): training ends with epoch \(machine.cursor.epoch + 1)")
            machine.endAfterEpoch(machine.cursor.epoch)
            reporter.record(["event": "early_stop", "after_epoch": machine.schedule.epochs,
                             "best_validation_epoch": selection.byValidation!.epoch])
        }
    }

    /// The run's result: the test figures at the validation-chosen epoch and at the best test epoch, each labelled.
    private func reportSelection() {
        var object: [String: Any] = ["event": "selection", "epochs": results.count, "stopped_early": stoppedEarly]
        for (key, choice) in [("validation", selection.byValidation), ("test", selection.byTest)] {
            guard let choice else { continue }
            object["\(key)_chosen_epoch"] = choice.epoch
            for m in choice.test {
                object["\(key)_chosen_recall@\(m.k)"] = m.recall
                object["\(key)_chosen_ndcg@\(m.k)"] = m.ndcg
            }
        }
        reporter.record(object)
        for line in Self.selectionLines(selection) { logger.notice("\(line)") }
    }

    /// Human-readable lines saying which epoch each rule chose and its test figures.
    public static func selectionLines(_ selection: ModelSelection) -> [String] {
        func figures(_ metrics: [RankingMetrics]) -> String {
            metrics.map { String(format: "Recall@%d %.4f  NDCG@%d %.4f", $0.k, $0.recall, $0.k, $0.ndcg) }
                .joined(separator: "  ")
        }
        var lines: [String] = []
        if let v = selection.byValidation {
            lines.append("test at the epoch chosen by validation (epoch \(v.epoch)): \(figures(v.test)) (embeddings: best_*.npy)")
        }
        if let t = selection.byTest {
            lines.append("test at the best test epoch (epoch \(t.epoch), chosen on the test set): \(figures(t.test))")
        }
        return lines
    }

    private func exportResults() throws {
        let dir = settings.outputDirectory
        try NpyFile.write(state.users, to: dir + "/user_embeddings.npy")
        try NpyFile.write(state.items, to: dir + "/item_embeddings.npy")
        try NpyFile.write(state.bank.table, to: dir + "/bank.npy")
        try data.writeIdMappings(to: dir)
        try data.writeSeenPairs(to: dir)   // what `coordinator recommend` leaves out
        logger.info("wrote embeddings, id mappings and checkpoints to \(dir)")
    }

    /// What a sender of an undecodable message is told: a worker of another protocol version must stop, not retry.
    /// Other damage (checksums, lengths) is silent: the resend protocol recovers from it.
    static func answer(to error: WireError) -> Message? {
        guard case let .unsupportedVersion(version) = error else { return nil }
        return .reject(.unsupportedVersion,
                       "this coordinator speaks protocol version \(WireCodec.protocolVersion); the worker sent version \(version)")
    }

    // MARK: stopping on a signal

    /// Takes a stop request; true when training ends now, at the last applied step (see `GracefulStop`).
    private func checkStopRequest(_ reason: String?, now: Double) -> Bool {
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
        if let boundary, checkpointedAtStep != stepsRun { checkpoint(at: boundary) }
        return true
    }

    /// Training stops right after an applied step: an epoch that it ended is still evaluated and reported; the
    /// next step (`next`'s STEPs) is not sent.
    private func stopAfterStep(_ next: [CoordinatorProtocol<PeerID>.Directive]) {
        stopped = true
        for directive in next {
            if case let .epochFinished(epoch) = directive { finishEpoch(epoch) }
        }
    }

    /// The last step applied (0 when none ever was).
    private var lastAppliedStep: Int { Int(boundary?.step ?? machine.cursor.step) - 1 }

    private func reportStop() {
        let step = lastAppliedStep
        let checkpointed = step > 0 && (boundary == nil || checkpointedAtStep == stepsRun)
        reporter.clearProgress()
        reporter.record(["event": "stopped", "reason": stop?.reason ?? "", "step": step,
                         "epoch": (boundary?.epoch ?? machine.cursor.epoch) + 1, "checkpoint": checkpointed])
        logger.notice("stopped on \(stop?.reason ?? "request") after step \(step)\(checkpointed ? "; checkpoint in \(settings.outputDirectory)" : ", before any step was checkpointed")")
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
