import Foundation
import Kernels
import RunSettings
import Transport
import Wire

/// The shell's work on the training state and the socket: applying a step, taking a checkpoint, sending, and
/// stopping on a non-finite parameter.
extension CoordinatorServer {
    func send(_ message: Message, to peer: PeerID) {
        sequence += 1
        do {
            try endpoint.send(Envelope(sender: 0, sequence: sequence, message: message), to: peer)
        } catch {
            logger.warning("could not send \(message.name) to \(peer): \(error)")
        }
    }

    /// Bytes of `rows` rows on the wire at the least: a u32 id and d f32 values each.
    func rowBytes(_ rows: Int) -> Int { rows * (settings.dim * 4 + 4) }

    func accept(_ gradient: Gradient, from id: UInt32) {
        if settings.verifyReplicas {
            let key = TaskKey(epoch: gradient.epoch, minibatch: gradient.minibatch)
            let sent = sentRowsHash[key] ?? []
            if !sent.contains(gradient.rowsHash) {
                replicaMismatches += 1
                logger.error("worker \(id) computed task (\(key.epoch), \(key.minibatch)) from rows of hash \(String(gradient.rowsHash, radix: 16)); the coordinator sent \(sent.map { String($0, radix: 16) }.joined(separator: " or "))")
            }
        }
        steps.accept(gradient)
    }

    /// Applies the current step's gradients (summed in minibatch order) and tells the run policy.
    func applyStep(_ keys: [TaskKey]) throws {
        let step = machine.currentStep
        var contributions: [MinibatchContribution] = []
        for (contribution, g, interactions) in steps.contributions(keys, step: step) {
            contributions.append(contribution)
            policy.minibatchApplied(interactions: interactions, lossSum: g.lossSum, examples: Int(g.examples))
            sparseMinimum.received += rowBytes(g.users.ids.count + g.items.ids.count)
        }
        let gradientsIn = clock.now()
        // The planned run, whatever early stopping or a time limit later make of it.
        let planned = machine.schedule.stepsPerEpoch * settings.epochs
        if let problem = try parameters.apply(contributions, learningRateScale: settings.learningRateSchedule.scale(
            step: Int(step), totalSteps: planned)) {
            try stopPoisoned("step \(step) made a parameter unusable (\(problem))")
        }
        steps.clear()
        countedTasks.removeAll(keepingCapacity: true)
        sentRowsHash.removeAll(keepingCapacity: true)
        let now = clock.now()
        stepTimes.wait += gradientsIn - (stepStartedAt ?? gradientsIn)
        stepTimes.optimizer += now - gradientsIn
        stepTimes.steps += 1
        let c = machine.cursor
        boundary = TrainingCursor(step: c.step + 1, version: parameters.version, epoch: c.epoch, minibatch: c.minibatch)
        let directives = policy.stepApplied(cursor: machine.cursor, version: parameters.version, now: now)
        metrics.stepApplied(seconds: now - (stepStartedAt ?? now), examples: contributions.reduce(0) { $0 + $1.examples },
                            epoch: machine.cursor.epoch + 1, meanLoss: policy.epochLoss.sum / Double(max(policy.epochLoss.examples, 1)),
                            examplesPerSecond: Double(policy.epochLoss.examples) / max(now - policy.epochStartedAt, 1e-9))
        stepStartedAt = nil
        // Ending the run first, so that the progress line below shows the epochs left.
        try execute(directives.filter { if case .checkpoint = $0 { return false } else { return true } })
        reporter.stepProgress(cursor: machine.cursor, schedule: machine.schedule, loss: policy.epochLoss,
                              epochStartedAt: policy.epochStartedAt, now: now)
        try execute(directives.filter { if case .checkpoint = $0 { return true } else { return false } })
    }

    /// Checkpoints the state as it is now, right after an applied step: encoded here, written while training goes
    /// on.
    func checkpoint(resumeAt: TrainingCursor) throws {
        guard let state = parameters.local else {
            try checkpointShards(resumeAt: resumeAt)
            return
        }
        checkpointedAtStep = policy.stepsRun
        let started = clock.now()
        let logger = logger
        let clock = clock
        let metrics = metrics
        checkpoints.saveInBackground(Checkpoint(runId: runId, cursor: resumeAt, shape: shape, audit: policy.audit,
                                                state: state)) { result in
            switch result {
            case let .success(path):
                metrics.checkpointWritten()
                logger.debug("checkpoint \(path), \(String(format: "%.2f", clock.now() - started)) s after it was taken")
            case let .failure(error):
                logger.error("checkpoint failed: \(error)")
            }
        }
    }

    /// The consistent cut of a sharded run: every shard writes its rows of this step (SHARD_SAVE, waited for), then
    /// the coordinator's file names each shard's file. A shard that cannot save (no --state-dir) leaves the run
    /// without that checkpoint, said once in the log; a shard that does not answer stops the run; a coordinator's file that cannot be
    /// written is logged, as without shards.
    private func checkpointShards(resumeAt: TrainingCursor) throws {
        guard case let .sharded(shards) = parameters.holder, !shardCheckpointsRefused else { return }
        let started = clock.now()
        do {
            let files = try shards.save(step: resumeAt.step)
            let manifest = ShardedCheckpoint(runId: runId, cursor: resumeAt, shape: shape, audit: policy.audit,
                                             users: shards.userCount, items: shards.itemCount, dim: shards.dim,
                                             shards: files)
            let path = try shardCheckpoints.write(manifest.encodedBytes(), step: resumeAt.step)
            checkpointedAtStep = policy.stepsRun
            metrics.checkpointWritten()
            logger.debug("checkpoint \(path) and \(files.count) shard files (\(files.reduce(0) { $0 + $1.bytes } >> 20) MiB), \(String(format: "%.2f", clock.now() - started)) s")
        } catch let failure as ShardFailure where failure.refused {
            shardCheckpointsRefused = true
            logger.error("no checkpoint: \(failure). The run goes on, but cannot be resumed: start every shard with --state-dir to keep its checkpoints")
        } catch let failure as ShardFailure {
            throw failure
        } catch {
            logger.error("checkpoint failed: \(error)")
        }
    }

    /// Counts a refused message by `key` and logs it, at most one line per key a second (saying how many were held).
    func noteRefusal(_ key: String, _ text: String) {
        refusals[key, default: 0] += 1
        metrics.rejected(reason: key)
        let now = clock.now()
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
    func stopPoisoned(_ what: String) throws -> Never {
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

    /// What a sender of an undecodable message is told: a worker of another protocol version must stop, not retry.
    /// Other damage (checksums, lengths) is silent: the resend protocol recovers from it.
    static func answer(to error: WireError) -> Message? {
        guard case let .unsupportedVersion(version) = error else { return nil }
        return .reject(.unsupportedVersion,
                       "this coordinator speaks protocol version \(WireCodec.protocolVersion); the worker sent version \(version)")
    }
}
