import Kernels
import MemoryBank
import Replication
import Wire

/// Where the run's parameters live: in the coordinator (`TrainingState`, the default) or over shard processes
/// (`ShardedState`, `--shards`). The coordinator's shell reads and moves them only through this.
final class ParameterStore {
    enum Holder {
        case local(TrainingState)
        case sharded(ShardedState)
    }

    let holder: Holder
    let dim: Int
    private let parameterCheck: ParameterCheck

    init(_ holder: Holder, parameterCheck: ParameterCheck) {
        self.holder = holder
        self.parameterCheck = parameterCheck
        switch holder {
        case let .local(state): dim = state.dim
        case let .sharded(shards): dim = shards.dim
        }
    }

    /// The state in this process, or nil when shards hold it.
    var local: TrainingState? {
        if case let .local(state) = holder { return state }
        return nil
    }

    var version: UInt64 {
        switch holder {
        case let .local(state): state.version
        case let .sharded(shards): shards.version
        }
    }

    /// The rows `rows` reads at the current version (dense Adam's rows caught up first), the bank rows at their item
    /// rows' lengths when `bankAtLiveLength`.
    func stepRows(_ rows: TaskReads, bankAtLiveLength: Bool) throws -> (users: SparseRows, items: SparseRows, bank: SparseRows) {
        switch holder {
        case let .local(state):
            Self.catchUp(rows, bankAtLiveLength: bankAtLiveLength, state: state)
            return (state.users.rows(rows.users), state.items.rows(rows.items),
                    bankAtLiveLength ? state.bankRowsAtLiveLength(rows.bank) : state.bank.table.rows(rows.bank))
        case let .sharded(shards):
            return try shards.rows(users: rows.users, items: rows.items, bank: rows.bank,
                                   bankAtLiveLength: bankAtLiveLength)
        }
    }

    /// Brings the rows the next step will read up to the current version while the workers compute (dense Adam):
    /// the coordinator's own state only; shards catch up what they are asked for when they are asked.
    func prefetch(_ rows: TaskReads, bankAtLiveLength: Bool) {
        if case let .local(state) = holder { Self.catchUp(rows, bankAtLiveLength: bankAtLiveLength, state: state) }
    }

    private static func catchUp(_ rows: TaskReads, bankAtLiveLength: Bool, state: TrainingState) {
        state.catchUp(ascendingUsers: rows.users, ascendingItems: rows.items)
        if bankAtLiveLength { state.catchUp(ascendingUsers: [], ascendingItems: rows.bank) }
    }

    /// Applies a step; returns the first unusable parameter it made (named for a log line), or nil.
    func apply(_ contributions: [MinibatchContribution], learningRateScale: Float) throws -> String? {
        switch holder {
        case let .local(state):
            return parameterCheck.firstOutOfRange(in: state.apply(contributions, learningRateScale: learningRateScale))
        case let .sharded(shards):
            gathered = nil
            return try shards.apply(contributions, learningRateScale: learningRateScale)
        }
    }

    /// The whole tables at the current version: the coordinator's own (every row caught up), or gathered from the
    /// shards (a copy).
    func tables() throws -> (users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) {
        switch holder {
        case let .local(state):
            state.catchUpAll()
            return (state.users, state.items, state.bank.table)
        case let .sharded(shards):
            // An epoch's end reads the tables twice (its audit, then its evaluation): gathered once per version.
            if let gathered, gathered.version == shards.version { return gathered.tables }
            gathered = nil   // the old copy goes before the new one is gathered
            let tables = (try shards.table(.users), try shards.table(.items), try shards.table(.bank))
            gathered = (shards.version, tables)
            return tables
        }
    }

    /// With shards: the tables last gathered, and the version they are of.
    private var gathered: (version: UInt64, tables: (users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable))?

    /// The first unusable parameter of the whole state, or nil.
    func firstOutOfRange() throws -> String? {
        let (users, items, bank) = try tables()
        for (name, table) in [("user", users), ("item", items), ("bank", bank)] {
            if let problem = parameterCheck.firstOutOfRange(in: table, name: name) { return problem }
        }
        return nil
    }

    /// Hash of users, items and bank (`TablesHash`), the same wherever the rows live.
    func contentHash() throws -> UInt64 {
        let (users, items, bank) = try tables()
        return TablesHash.of(users: users, items: items, bank: bank)
    }

    func close() {
        if case let .sharded(shards) = holder { shards.close() }
    }
}
