import Foundation
import Kernels
import MemoryBank
import Replication
import Wire

/// What a state shard does with each request of the coordinator (docs/PROTOCOL.md, "State shards"): it holds its
/// share of the run's parameters (`RowPartition`: users, items, bank and optimizer state) as a `TrainingState` of
/// local rows, and answers SHARD_OPEN, SHARD_READ, SHARD_APPLY, SHARD_EXPORT and SHARD_SAVE with one message each.
/// Every request is checked before it touches the state; a refused one changes nothing and is answered with REJECT.
/// Its checkpoints (SHARD_SAVE, restored by a SHARD_OPEN that names one) are files in `stateDirectory`. No socket:
/// `ShardServer` moves the bytes.
public final class ShardService {
    public private(set) var opened: ShardOpen?
    public private(set) var state: TrainingState?
    public private(set) var partition = RowPartition.whole
    private var parameterCheck = ParameterCheck(limit: .greatestFiniteMagnitude)
    /// The unusable parameter a step made, once one did: the coordinator stops its run then, and the shard takes no
    /// further request for it.
    public private(set) var unusable: String?
    /// The largest share a shard accepts to build, in values of its rows (tables, moments and bank).
    public let maxValues: Int
    /// The largest whole tables a shard accepts to draw its share from (it draws every row's initial values, its
    /// own and the others', to keep the run's stream): users + items, times dim.
    public let maxDrawnValues: Int
    /// Where this shard writes its checkpoints and reads them back; nil: it keeps none (SHARD_SAVE is refused).
    public let stateDirectory: String?
    /// How many of its newest checkpoints a shard keeps: one more than the coordinator, whose newest may name a
    /// step before the shard's newest (a coordinator stopped between SHARD_SAVED and writing its own file).
    public static let checkpointsKept = 3

    public init(maxValues: Int = 1 << 34, maxDrawnValues: Int = 1 << 37, stateDirectory: String? = nil) {
        self.maxValues = maxValues
        self.maxDrawnValues = maxDrawnValues
        self.stateDirectory = stateDirectory
    }

    /// The answer to `message`.
    public func answer(_ message: Message) -> Message {
        do {
            switch message {
            case let .shardOpen(request): return try open(request)
            case let .shardRead(request): return try read(request)
            case let .shardApply(request): return try apply(request)
            case let .shardExport(table, start, count): return try export(table, start: Int(start), count: Int(count))
            case let .shardSave(version, step): return try save(version: version, step: step)
            default: throw Refusal.invalid("shard_unexpected", "a shard does not answer \(message.name)")
            }
        } catch let refusal as Refusal {
            return .reject(refusal.reason, refusal.detail)
        } catch {
            return .reject(.invalidContent, "\(error)")
        }
    }

    private func open(_ request: ShardOpen) throws -> Message {
        if let problem = request.refusal() { throw problem }
        if let restore = request.restore { return try open(request, restoring: restore) }
        if let opened, let state {
            // The same run asked again (its first answer was lost): the state stays as it is.
            guard opened == request else {
                throw Refusal.invalid("shard_open_other", "this shard holds run \(opened.runId) (shard \(opened.index) of \(opened.count)); it was asked for run \(request.runId) (shard \(request.index) of \(request.count))")
            }
            return .shardReady(runId: request.runId, index: request.index, version: state.version)
        }
        let (p, optimizer) = try checkedSettings(request)
        guard (Int(request.users) + Int(request.items)) * Int(request.dim) <= maxDrawnValues else {
            throw Refusal.invalid("shard_too_large", "\(request.users) users and \(request.items) items at dim \(request.dim) are more values than this shard draws its share from (\(maxDrawnValues))")
        }
        state = TrainingState(partition: p, userCount: Int(request.users), itemCount: Int(request.items),
                              dim: Int(request.dim), initStd: request.initStd, seed: request.seed,
                              momentum: request.momentum, optimizer: optimizer)
        partition = p
        parameterCheck = ParameterCheck(limit: request.parameterLimit)
        opened = request
        return .shardReady(runId: request.runId, index: request.index, version: 0)
    }

    /// The settings `request` asks for, once its tables fit what this shard takes.
    private func checkedSettings(_ request: ShardOpen) throws -> (RowPartition, OptimizerSettings) {
        let p = RowPartition(index: Int(request.index), count: Int(request.count))
        let rows = p.rows(of: Int(request.users)) + p.rows(of: Int(request.items))
        let (values, overflow) = rows.multipliedReportingOverflow(by: Int(request.dim))
        guard !overflow, values <= maxValues / 4 else {   // table, two moments, bank
            throw Refusal.invalid("shard_too_large", "shard \(p) of \(request.users) users and \(request.items) items at dim \(request.dim) needs more than this shard takes (\(maxValues) values)")
        }
        guard let kind = Self.optimizerKinds[Int(request.optimizerKind)] else {
            throw Refusal.invalid("shard_optimizer", "optimizer kind \(request.optimizerKind)")
        }
        return (p, OptimizerSettings(kind: kind, learningRate: request.learningRate, beta1: request.beta1,
                                     beta2: request.beta2, epsilon: request.epsilon, weightDecay: request.weightDecay))
    }

    /// Replaces whatever this shard holds by its checkpoint that `restore` names, once that file is intact, of
    /// this run and shard, at the version and with the checksum named, of the shapes asked for and every value
    /// finite and within the limit. A shard holding another run refuses.
    private func open(_ request: ShardOpen, restoring restore: ShardRestore) throws -> Message {
        if let opened, opened.runId != request.runId {
            throw Refusal.invalid("shard_open_other", "this shard holds run \(opened.runId); it was asked to restore run \(request.runId)")
        }
        guard let stateDirectory else {
            throw Refusal.invalid("shard_restore_missing", "this shard keeps no checkpoints (started without --state-dir): it cannot restore step \(restore.step)")
        }
        let (p, optimizer) = try checkedSettings(request)
        let store = CheckpointStore(directory: stateDirectory, keep: Self.checkpointsKept,
                                    prefix: ShardedCheckpoint.shardPrefix(index: p.index, count: p.count))
        let path = store.path(step: restore.step)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Refusal.invalid("shard_restore_missing", "no checkpoint of step \(restore.step) at \(path)")
        }
        func refuse(_ what: String) -> Refusal { .invalid("shard_restore_mismatch", "\(path): \(what)") }
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.decode(data, path: path)
        } catch {
            throw Refusal.invalid("shard_restore_invalid", "\(error)")
        }
        guard SealedFile.checksum(of: [UInt8](data)) == restore.checksum else {
            throw refuse("checksum \(SealedFile.checksum(of: [UInt8](data)) ?? 0), the run's checkpoint names \(restore.checksum)")
        }
        guard checkpoint.runId == request.runId, checkpoint.cursor.step == restore.step,
              checkpoint.cursor.version == restore.version else {
            throw refuse("run \(checkpoint.runId) step \(checkpoint.cursor.step) version \(checkpoint.cursor.version); asked for run \(request.runId) step \(restore.step) version \(restore.version)")
        }
        guard checkpoint.users.rows == p.rows(of: Int(request.users)), checkpoint.items.rows == p.rows(of: Int(request.items)),
              checkpoint.users.dim == Int(request.dim), checkpoint.momentum == request.momentum else {
            throw refuse("\(checkpoint.users.rows) users × \(checkpoint.items.rows) items at dim \(checkpoint.users.dim), momentum \(checkpoint.momentum): not shard \(p) of \(request.users) × \(request.items) at dim \(request.dim), momentum \(request.momentum)")
        }
        let restored: TrainingState
        do {
            restored = try checkpoint.restore(optimizer: optimizer)
        } catch {
            throw refuse("\(error)")
        }
        let check = ParameterCheck(limit: request.parameterLimit)
        if let problem = check.firstOutOfRange(in: restored) { throw refuse(problem) }
        state = restored
        partition = p
        parameterCheck = check
        opened = request
        unusable = nil
        return .shardReady(runId: request.runId, index: request.index, version: restored.version)
    }

    /// Writes this shard's rows at `version` as its checkpoint of coordinator step `step`: complete under its name
    /// before the answer goes out, so that SHARD_SAVED means the file is on the disk.
    private func save(version: UInt64, step: UInt64) throws -> Message {
        let (state, opened) = try current(version, "SHARD_SAVE")
        guard let stateDirectory else {
            throw Refusal.invalid("shard_save_unavailable", "this shard keeps no checkpoints (started without --state-dir)")
        }
        guard step > 0 else { throw Refusal.invalid("shard_save_step", "a checkpoint of step 0") }
        let store = CheckpointStore(directory: stateDirectory, keep: Self.checkpointsKept,
                                    prefix: ShardedCheckpoint.shardPrefix(index: partition.index, count: partition.count))
        let bytes = Checkpoint(runId: opened.runId, cursor: TrainingCursor(step: step, version: version, epoch: 0, minibatch: 0),
                               shape: RunShape(minibatchSize: 1, minibatchesPerStep: 1, seed: opened.seed),
                               audit: EpochAudit(), state: state).encodedBytes()
        do {
            _ = try store.write(bytes, step: step)
        } catch {
            throw Refusal.invalid("shard_save_failed", "\(error)")
        }
        return .shardSaved(version: version, step: step, checksum: SealedFile.checksum(of: bytes) ?? 0,
                           bytes: UInt64(bytes.count))
    }

    /// The wire codes of the optimizers, in `ShardOpen`'s order.
    public static let optimizerKinds: [OptimizerKind?] = [.adam, .denseAdam, .sgd, .adagrad]

    public static func optimizerCode(_ kind: OptimizerKind) -> UInt8 {
        UInt8(optimizerKinds.firstIndex(of: kind)!)
    }

    /// The open state at `version`, or why a request for it is refused.
    private func current(_ version: UInt64, _ what: String) throws -> (TrainingState, ShardOpen) {
        guard let state, let opened else { throw Refusal.invalid("shard_not_open", "\(what) before SHARD_OPEN") }
        if let unusable { throw Refusal.invalid("shard_unusable", "\(what): this shard's step \(state.version) made a parameter unusable (\(unusable))") }
        guard version == state.version else {
            throw Refusal.invalid("shard_version", "\(what) for version \(version); this shard is at \(state.version)")
        }
        return (state, opened)
    }

    /// `ids` made local, after checking that they are strictly ascending, below `limit` and this shard's.
    private func localIds(_ ids: [UInt32], limit: UInt32, _ what: String) throws -> [UInt32] {
        guard ids.isStrictlyAscending else { throw Refusal.invalid("shard_ids_order", "\(what) ids are not strictly ascending") }
        if let bad = ids.last, bad >= limit { throw Refusal.invalid("shard_ids_range", "\(what) id \(bad) is not below \(limit)") }
        if let foreign = ids.first(where: { !partition.owns($0) }) {
            throw Refusal.invalid("shard_ids_foreign", "\(what) id \(foreign) belongs to another shard than \(partition)")
        }
        return ids.map { partition.local($0) }
    }

    private func read(_ request: ShardRead) throws -> Message {
        let (state, opened) = try current(request.version, "SHARD_READ")
        let users = try localIds(request.users, limit: opened.users, "SHARD_READ users")
        let items = try localIds(request.items, limit: opened.items, "SHARD_READ items")
        let bank = try localIds(request.bank, limit: opened.items, "SHARD_READ bank")
        state.catchUp(ascendingUsers: users, ascendingItems: items)
        if request.bankAtLiveLength { state.catchUp(ascendingUsers: [], ascendingItems: bank) }
        if request.prepareOnly {
            let empty = RowBlock.empty(dim: Int(opened.dim))
            return .shardRows(ShardRows(version: state.version, users: empty, items: empty, bank: empty))
        }
        let bankRows = request.bankAtLiveLength ? state.bankRowsAtLiveLength(bank) : state.bank.table.rows(bank)
        return .shardRows(ShardRows(version: state.version,
                                    users: RowBlock(partition.globalRows(state.users.rows(users))),
                                    items: RowBlock(partition.globalRows(state.items.rows(items))),
                                    bank: RowBlock(partition.globalRows(bankRows))))
    }

    private func apply(_ request: ShardApply) throws -> Message {
        let (state, opened) = try current(request.version, "SHARD_APPLY")
        let d = Int(opened.dim)
        guard request.learningRateScale.isFinite && request.learningRateScale >= 0 else {
            throw Refusal.invalid("shard_learning_rate_scale", "learning-rate scale \(request.learningRateScale)")
        }
        guard !request.minibatches.isEmpty, request.minibatches.allSatisfy({ $0.examples > 0 }),
              request.minibatches.reduce(0, { $0 + Int($1.examples) }) <= Int(Int32.max) else {
            throw Refusal.invalid("shard_apply_examples", "a step needs minibatches of at least one example each")
        }
        var contributions: [MinibatchContribution] = []
        for (k, m) in request.minibatches.enumerated() {
            try m.users.validate(rowLimit: Int(opened.users), dim: d, "shard_apply \(k) users", maxAbs: parameterCheck.limit)
            try m.items.validate(rowLimit: Int(opened.items), dim: d, "shard_apply \(k) items", maxAbs: parameterCheck.limit)
            guard m.lossSum.isFinite else { throw Refusal.invalid("shard_apply_loss", "minibatch \(k) loss \(m.lossSum)") }
            let users = try localIds(m.users.ids, limit: opened.users, "SHARD_APPLY \(k) users")
            let items = try localIds(m.items.ids, limit: opened.items, "SHARD_APPLY \(k) items")
            let followed = try localIds(m.followed, limit: opened.items, "SHARD_APPLY \(k) followed")
            contributions.append(MinibatchContribution(
                examples: Int(m.examples), lossSum: m.lossSum,
                users: SparseRows(dim: d, ids: users, values: m.users.values),
                items: SparseRows(dim: d, ids: items, values: m.items.values), positives: followed))
        }
        var delta = state.apply(contributions, learningRateScale: request.learningRateScale)
        delta.users = partition.globalRows(delta.users)
        delta.items = partition.globalRows(delta.items)
        delta.bank = partition.globalRows(delta.bank)
        unusable = parameterCheck.firstOutOfRange(in: delta)
        return .shardApplied(version: state.version, problem: unusable ?? "")
    }

    private func export(_ table: ShardTable, start: Int, count: Int) throws -> Message {
        let (state, opened) = try current(self.state?.version ?? 0, "SHARD_EXPORT")
        let source: EmbeddingTable = switch table {
        case .users: state.users
        case .items: state.items
        case .bank: state.bank.table
        }
        guard start <= source.rows, count <= source.rows - start else {
            throw Refusal.invalid("shard_export_range", "rows \(start)..<\(start + count) of a share of \(source.rows) rows")
        }
        let ids = (start ..< start + count).map { UInt32($0) }
        switch table {
        case .users: state.catchUp(ascendingUsers: ids, ascendingItems: [])
        case .items, .bank: state.catchUp(ascendingUsers: [], ascendingItems: ids)
        }
        let rows = RowBlock(partition.globalRows(source.rows(ids)))
        let empty = RowBlock.empty(dim: Int(opened.dim))
        return .shardRows(ShardRows(version: state.version, users: table == .users ? rows : empty,
                                    items: table == .items ? rows : empty, bank: table == .bank ? rows : empty))
    }
}
