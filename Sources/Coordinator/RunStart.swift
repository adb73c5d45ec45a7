import Dataset
import Foundation
import Kernels
import Logging
import Transport
import Wire

/// Where a run starts: afresh, or from the newest valid checkpoint of its output directory, whose run shape then
/// wins over the flags.
struct RunStart {
    var settings: CoordinatorSettings
    let parameters: ParameterStore
    let runId: UInt64
    let cursor: TrainingCursor
    /// The epoch in progress's audit so far.
    let audit: EpochAudit
    /// Whether the run continues from a checkpoint.
    let resumed: Bool

    /// `shardLinks`: one connection per shard of `settings.shards` (nil: ZeroMQ DEALERs to those addresses).
    init(settings requested: CoordinatorSettings, data: InteractionData, checkpoints: CheckpointStore,
         logger: Logger, shardLinks: [any DealerTransport]? = nil) throws {
        var settings = requested
        let check = ParameterCheck(dim: settings.dim, temperature: settings.loss.temperature)
        if !settings.shards.isEmpty {
            let links = try shardLinks ?? settings.shards.enumerated().map { k, address in
                // With CurveZMQ on, the coordinator's key pair is a client of each shard's (which admits it).
                let curve = settings.curve.map { server in
                    CurveSecurity.client(CurveClient(keys: server.keys, serverPublicKey: settings.shardPublicKeys.count == 1
                                                        ? settings.shardPublicKeys[0] : settings.shardPublicKeys[k]))
                }
                return try DealerEndpoint(connect: address, maxMessageBytes: Self.shardMessageBytes, logger: logger,
                                          options: EndpointOptions(faults: settings.faults ?? .none, curve: curve))
            }
            let o = settings.optimizer
            var open = ShardOpen(runId: 0, index: 0, count: UInt32(links.count), users: UInt32(data.userCount),
                                 items: UInt32(data.itemCount), dim: UInt32(settings.dim), initStd: settings.initStd,
                                 seed: settings.seed, momentum: settings.momentum,
                                 optimizerKind: ShardService.optimizerCode(o.kind), learningRate: o.learningRate,
                                 beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay,
                                 parameterLimit: check.limit)
            let store = CheckpointStore(directory: settings.outputDirectory, prefix: ShardedCheckpoint.prefix)
            if settings.resume {
                if let (manifest, path, state) = try Self.restoreShards(links: links, settings: settings, data: data,
                                                                        open: open, store: store, logger: logger) {
                    settings.minibatchSize = manifest.shape.minibatchSize
                    settings.batchSize = manifest.shape.minibatchSize * manifest.shape.minibatchesPerStep
                    settings.seed = manifest.shape.seed
                    self.settings = settings
                    parameters = ParameterStore(.sharded(state), parameterCheck: check)
                    runId = manifest.runId
                    cursor = manifest.cursor
                    audit = manifest.audit
                    resumed = true
                    logger.notice("resuming from \(path) on \(links.count) state shards: step \(cursor.step), epoch \(cursor.epoch + 1), version \(cursor.version)")
                    return
                }
                guard checkpoints.paths().isEmpty else {
                    throw TrainerError("\(settings.outputDirectory) holds checkpoints of a run without shards (\(checkpoints.paths()[0])): resume it without --shard / --spawn-shards")
                }
                logger.warning("no sharded checkpoint in \(settings.outputDirectory); starting afresh")
            }
            var random = SystemRandomNumberGenerator()
            runId = UInt64.random(in: 1 ... .max, using: &random)
            open.runId = runId
            logger.info("opening the run on \(links.count) state shards: \(settings.shards.joined(separator: ", "))")
            parameters = ParameterStore(.sharded(try ShardedState(links: links, addresses: settings.shards, open: open,
                                                                  timeout: settings.shardTimeout)),
                                        parameterCheck: check)
            self.settings = settings
            cursor = TrainingCursor()
            audit = EpochAudit()
            resumed = false
            return
        }
        let resumedFrom = settings.resume ? checkpoints.newestValid() : nil
        guard let (checkpoint, path, skipped) = resumedFrom else {
            if settings.resume {
                let sharded = CheckpointStore(directory: settings.outputDirectory, prefix: ShardedCheckpoint.prefix).paths()
                guard sharded.isEmpty else {
                    throw TrainerError("\(settings.outputDirectory) holds checkpoints of a run whose state shards held (\(sharded[0])): resume it with as many shards (--shard or --spawn-shards)")
                }
                logger.warning("no valid checkpoint in \(settings.outputDirectory); starting afresh")
            }
            self.settings = settings
            parameters = ParameterStore(.local(TrainingState(
                userCount: data.userCount, itemCount: data.itemCount, dim: settings.dim, initStd: settings.initStd,
                seed: settings.seed, momentum: settings.momentum, optimizer: settings.optimizer)), parameterCheck: check)
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
        parameters = ParameterStore(.local(try checkpoint.restore(optimizer: settings.optimizer)), parameterCheck: check)
        runId = checkpoint.runId
        cursor = checkpoint.cursor
        audit = checkpoint.audit
        resumed = true
        logger.notice("resuming from \(path): step \(cursor.step), epoch \(cursor.epoch + 1), version \(cursor.version)")
    }

    /// Restores the shards to the newest sharded checkpoint of `store` that every shard can restore (a shard
    /// that lacks its file of a step, or holds another, passes that step over for the one before), or nil when the
    /// store has none. A checkpoint of another shape than this run's is an error, not passed over.
    static func restoreShards(links: [any DealerTransport], settings: CoordinatorSettings, data: InteractionData,
                              open template: ShardOpen, store: CheckpointStore, logger: Logger) throws
        -> (ShardedCheckpoint, path: String, ShardedState)?
    {
        var reasons: [String] = []
        for path in store.paths() {
            let manifest: ShardedCheckpoint
            do {
                manifest = try ShardedCheckpoint.decode(try Data(contentsOf: URL(fileURLWithPath: path)), path: path)
            } catch {
                logger.warning("passed over a checkpoint: \(error)")
                reasons.append("\(error)")
                continue
            }
            guard manifest.shards.count == links.count else {
                throw TrainerError("\(path) was taken with \(manifest.shards.count) state shards; this run has \(links.count): resume with \(manifest.shards.count)")
            }
            guard manifest.users == data.userCount, manifest.items == data.itemCount, manifest.dim == settings.dim else {
                throw TrainerError("\(path) holds \(manifest.users) users × \(manifest.items) items, d \(manifest.dim); this run has \(data.userCount) × \(data.itemCount), d \(settings.dim)")
            }
            var open = template
            open.runId = manifest.runId
            open.seed = manifest.shape.seed
            let restores = manifest.shards.map {
                ShardRestore(step: manifest.cursor.step, version: manifest.cursor.version, checksum: $0.checksum)
            }
            do {
                let state = try ShardedState(links: links, addresses: settings.shards, open: open, restore: restores,
                                             timeout: settings.shardTimeout)
                return (manifest, path, state)
            } catch let failure as ShardFailure where failure.refused {
                logger.warning("passed over \(path): \(failure)")
                reasons.append("\(path): \(failure)")
            }
        }
        guard reasons.isEmpty else {
            throw TrainerError("no sharded checkpoint in \(store.directory) could be restored: \(reasons.joined(separator: "; "))")
        }
        return nil
    }

    /// The largest message on a shard link: a slice of a table or a step's rows (256 MiB).
    static let shardMessageBytes = 1 << 28

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
