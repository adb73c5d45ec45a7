import Dataset
import Foundation
import Logging

/// Where a run starts: afresh, or from the newest valid checkpoint of its output directory, whose run shape then
/// wins over the flags.
struct RunStart {
    var settings: CoordinatorSettings
    let state: TrainingState
    let runId: UInt64
    let cursor: TrainingCursor
    /// The epoch in progress's audit so far.
    let audit: EpochAudit
    /// Whether the run continues from a checkpoint.
    let resumed: Bool

    init(settings requested: CoordinatorSettings, data: InteractionData, checkpoints: CheckpointStore,
         logger: Logger) throws {
        var settings = requested
        let resumedFrom = settings.resume ? checkpoints.newestValid() : nil
        guard let (checkpoint, path, skipped) = resumedFrom else {
            if settings.resume { logger.warning("no valid checkpoint in \(settings.outputDirectory); starting afresh") }
            self.settings = settings
            state = TrainingState(userCount: data.userCount, itemCount: data.itemCount, dim: settings.dim,
                                  initStd: settings.initStd, seed: settings.seed, momentum: settings.momentum,
                                  optimizer: settings.optimizer)
            var random = SystemRandomNumberGenerator()
            runId = UInt64.random(in: 1 ... .max, using: &random)
            cursor = TrainingCursor()
            audit = EpochAudit()
            resumed = false
            return
        }
        let shape = checkpoint.shape
        if shape != RunShape(minibatchSize: settings.effectiveMinibatchSize,
                             minibatchesPerStep: settings.minibatchesPerStep, seed: settings.seed) {
            logger.notice("resuming with the checkpoint's minibatch size \(shape.minibatchSize), \(shape.minibatchesPerStep) minibatches per step and seed \(shape.seed)")
        }
        settings.minibatchSize = shape.minibatchSize
        settings.batchSize = shape.minibatchSize * shape.minibatchesPerStep
        settings.seed = shape.seed
        for reason in skipped { logger.warning("passed over a checkpoint: \(reason)") }
        try Self.check(checkpoint, path: path, fits: data, dim: settings.dim)
        self.settings = settings
        state = try checkpoint.restore(optimizer: settings.optimizer)
        runId = checkpoint.runId
        cursor = checkpoint.cursor
        audit = checkpoint.audit
        resumed = true
        logger.notice("resuming from \(path): step \(cursor.step), epoch \(cursor.epoch + 1), version \(cursor.version)")
    }

    static func check(_ checkpoint: Checkpoint, path: String, fits data: InteractionData, dim: Int) throws {
        guard checkpoint.users.rows == data.userCount, checkpoint.items.rows == data.itemCount,
              checkpoint.users.dim == dim else {
            throw TrainerError("\(path) holds \(checkpoint.users.rows) users × \(checkpoint.items.rows) items, d \(checkpoint.users.dim); this run has \(data.userCount) × \(data.itemCount), d \(dim)")
        }
    }

    /// The valid checkpoint of this run taken at the end of epoch `epoch` (0-based), if one is still kept.
    static func epochEnd(_ epoch: Int, runId: UInt64, minibatchesPerEpoch: Int, in store: CheckpointStore)
        -> (Checkpoint, path: String)?
    {
        for path in store.paths() {
            guard let data = FileManager.default.contents(atPath: path),
                  let checkpoint = try? Checkpoint.decode(data, path: path) else { continue }
            if checkpoint.runId == runId, checkpoint.cursor.epoch == epoch,
               checkpoint.cursor.minibatch >= minibatchesPerEpoch {
                return (checkpoint, path)
            }
        }
        return nil
    }
}
