import Dataset
import Foundation
import Kernels
import Logging

/// The run's events as log lines and `metrics.jsonl` records, the progress line, and the exported tables.
extension RunReporter {
    /// The `start` record: the run's data, shape and settings.
    /// `evaluator` tells how many test users each epoch's figures are computed on (a sample is said in the log).
    func started(settings: CoordinatorSettings, data: InteractionData, evaluator: RankingEvaluator, endpoint: String) {
        if evaluator.isSampled {
            evaluationSample = (evaluator.evaluatedUsers.count, evaluator.qualifyingUserCount)
            logger.info("evaluation: Recall@\(settings.evaluationKs[0]) on a sample of \(evaluator.evaluatedUsers.count) test users (of \(evaluator.qualifyingUserCount), drawn with seed \(settings.seed), the same every epoch)")
        }
        record([
            "event": "start", "dataset": data.name, "users": data.userCount, "items": data.itemCount,
            "train": data.trainCount, "epochs": settings.epochs, "dim": settings.dim, "batch_size": settings.batchSize,
            "minibatch_size": settings.effectiveMinibatchSize, "negatives": settings.loss.negatives,
            "temperature": Double(settings.loss.temperature), "loss": "\(settings.loss.kind)",
            "positive_temperature": settings.loss.positiveTemperature.map { Double($0) } ?? NSNull(),
            "live_negatives": settings.loss.liveNegatives,
            "trained_bank_negatives": settings.loss.trainedBankNegatives,
            "hard_negatives": settings.loss.hardNegatives, "hard_negative_pool": settings.loss.hardNegativePool,
            "hard_negative_skip": settings.loss.hardNegativeSkip,
            "momentum": Double(settings.momentum),
            "optimizer": settings.optimizer.kind.rawValue,
            "lr": Double(settings.optimizer.learningRate), "weight_decay": Double(settings.optimizer.weightDecay),
            "lr_schedule": "\(settings.learningRateSchedule)",
            "seed": settings.seed, "workers": settings.minimumWorkers, "endpoint": endpoint,
            "evaluation_users": evaluator.evaluatedUsers.count, "eval_every": settings.evaluateEvery, "test_users": evaluator.qualifyingUserCount,
            "validation": data.validationCount, "patience": settings.patience,
            // What the report shows and `coordinator recommend` ranks with.
            "similarity": "\(settings.loss.similarity)", "preset": settings.preset?.record ?? NSNull(),
        ])
    }

    /// A decision of the run policy, told to the user (log) and, for the ones a run's record needs, to the file.
    func announce(_ event: RunEvent, evaluationK k: Int) {
        switch event {
        case let .timeLimit(seconds, afterEpoch):
            logger.notice("time limit of \(Int(seconds)) s reached: training ends with epoch \(afterEpoch)")
            record(["event": "time_limit", "after_epoch": afterEpoch])
        case let .earlyStop(without, best, afterEpoch):
            logger.notice("validation Recall@\(k) has not improved for \(without) epoch(s) (best: epoch \(best)): training ends with epoch \(afterEpoch)")
            record(["event": "early_stop", "after_epoch": afterEpoch, "best_validation_epoch": best])
        case let .stoppedBeforeRestart(without):
            logger.notice("the validation score had not improved for \(without) epoch(s) before the restart: training ends with the epoch in progress")
        case let .auditMismatch(epoch, applied, expected):
            logger.error("epoch \(epoch + 1) audit: \(applied) interactions applied, \(expected) expected, hashes differ")
        case let .epochFiguresLost(epoch):
            logger.warning("epoch \(epoch + 1) ended before the restart without its figures in metrics.jsonl, and no checkpoint of its end is left to evaluate")
        }
    }

    /// A worker joined (the report's timeline shows it; a name seen before is a rejoin).
    func memberJoined(_ id: UInt32, name: String) {
        logger.info("worker \(id) (\(name)) joined")
        record(["event": "member_joined", "worker": Int(id), "name": name])
    }

    /// A worker was declared dead.
    func memberLost(_ id: UInt32, reason: String, reassigned: Int, step: UInt64) {
        clearProgress()
        logger.warning("worker \(id) declared dead (\(reason)); reassigned \(reassigned) minibatch(es)")
        record(["event": "member_lost", "worker": Int(id), "reason": reason, "reassigned": reassigned,
                "step": Int(step)])
    }

    /// The progress line after an applied step.
    func stepProgress(cursor: TrainingCursor, schedule: TrainingSchedule, loss: (sum: Double, examples: Int),
                      epochStartedAt: Double, now: Double) {
        progress(Self.progressLine(cursor: cursor, schedule: schedule, loss: loss, epochSeconds: now - epochStartedAt),
                 now: now)
    }

    /// `epoch 2/5  step 3/10  12000 examples/s  loss 1.2345  ETA 1m5s`: where the run is, its rate this epoch and
    /// the time left at that rate.
    static func progressLine(cursor: TrainingCursor, schedule: TrainingSchedule, loss: (sum: Double, examples: Int),
                             epochSeconds: Double) -> String {
        let stepInEpoch = (cursor.minibatch + schedule.minibatchesPerStep - 1) / schedule.minibatchesPerStep
        let rate = Double(loss.examples) / max(epochSeconds, 1e-9)
        let remaining = Double(schedule.totalSteps - Int(cursor.step)) * epochSeconds / Double(max(stepInEpoch, 1))
        return String(format: "epoch %d/%d  step %d/%d  %.0f examples/s  loss %.4f  ETA %@",
                      cursor.epoch + 1, schedule.epochs, stepInEpoch, schedule.stepsPerEpoch, rate,
                      loss.sum / Double(max(loss.examples, 1)), duration(remaining))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds)
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }

    /// The tables of the epoch that validation chose, as `best_*.npy`.
    func keepBest(epoch: Int, users: EmbeddingTable, items: EmbeddingTable) {
        do {
            try NpyFile.write(users, to: outputDirectory + "/best_user_embeddings.npy")
            try NpyFile.write(items, to: outputDirectory + "/best_item_embeddings.npy")
        } catch {
            logger.error("could not write the embeddings of epoch \(epoch + 1): \(error)")
        }
    }

    /// The final tables and the id mappings.
    func export(_ parameters: ParameterStore, data: InteractionData) throws {
        try parameters.export(to: outputDirectory)
        try data.writeIdMappings(to: outputDirectory)
        try data.writeSeenPairs(to: outputDirectory)   // what `coordinator recommend` leaves out
        logger.info("wrote embeddings, id mappings and checkpoints to \(outputDirectory)")
    }

    /// The run's result: the test figures at the validation-chosen epoch and at the best test epoch, each labelled.
    func selected(_ selection: ModelSelection, epochs: Int, stoppedEarly: Bool) {
        var object: [String: Any] = ["event": "selection", "epochs": epochs, "stopped_early": stoppedEarly]
        for (key, choice) in [("validation", selection.byValidation), ("test", selection.byTest)] {
            guard let choice else { continue }
            object["\(key)_chosen_epoch"] = choice.epoch
            for m in choice.test {
                object["\(key)_chosen_recall@\(m.k)"] = m.recall
                object["\(key)_chosen_ndcg@\(m.k)"] = m.ndcg
            }
        }
        record(object)
        for line in Self.selectionLines(selection) { logger.notice("\(line)") }
    }

    /// Human-readable lines saying which epoch each rule chose and its test figures.
    static func selectionLines(_ selection: ModelSelection) -> [String] {
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
}
