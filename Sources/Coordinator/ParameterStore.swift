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
            if let cached = stepRowsCache, cached.version == shards.version, cached.bankAtLiveLength == bankAtLiveLength,
               let users = cached.users.subset(rows.users), let items = cached.items.subset(rows.items),
               let bank = cached.bank.subset(rows.bank) {
                return (users, items, bank)
            }
            return try shards.rows(users: rows.users, items: rows.items, bank: rows.bank,
                                   bankAtLiveLength: bankAtLiveLength)
        }
    }

    /// With shards: reads the rows of all of a step's STEPs (`rows`, their union) in one exchange and keeps them for
    /// `stepRows` at this version, so that a step asks the shards once however many workers it has. A no-op for the
    /// coordinator's own state.
    func fetchStepRows(_ rows: TaskReads, bankAtLiveLength: Bool) throws {
        guard case let .sharded(shards) = holder else { return }
        let read = try shards.rows(users: rows.users, items: rows.items, bank: rows.bank,
                                   bankAtLiveLength: bankAtLiveLength)
        stepRowsCache = (shards.version, bankAtLiveLength, read.users, read.items, read.bank)
    }

    /// The rows of the current step's STEPs read from the shards in one exchange (`fetchStepRows`).
    private var stepRowsCache: (version: UInt64, bankAtLiveLength: Bool, users: SparseRows, items: SparseRows,
                                bank: SparseRows)?

    /// Brings the rows the next step will read up to the current version while the workers compute (dense Adam):
    /// in this process, or on the shards (a SHARD_READ that sends no rows back).
    func prefetch(_ rows: TaskReads, bankAtLiveLength: Bool) throws {
        switch holder {
        case let .local(state):
            Self.catchUp(rows, bankAtLiveLength: bankAtLiveLength, state: state)
        case let .sharded(shards):
            try shards.prepare(users: rows.users, items: rows.items, bank: rows.bank, bankAtLiveLength: bankAtLiveLength)
        }
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
            return try shards.apply(contributions, learningRateScale: learningRateScale)
        }
    }

    /// The whole tables at the current version: the coordinator's own, every row caught up (the state in this
    /// process only).
    private func tables() throws -> (users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) {
        guard case let .local(state) = holder else { preconditionFailure("whole tables of a sharded state") }
        state.catchUpAll()
        return (state.users, state.items, state.bank.table)
    }

    /// The coordinator's own user and item tables at the current version (every row caught up), for an
    /// evaluation. With shards the evaluation gathers what it needs itself (`CoordinatorServer.startEvaluation`).
    func rankingTables() throws -> (users: EmbeddingTable, items: EmbeddingTable) {
        let (users, items, _) = try tables()
        return (users, items)
    }

    /// The first unusable parameter of the whole state, or nil. With shards the tables are read slice by slice.
    func firstOutOfRange() throws -> String? {
        guard case let .sharded(shards) = holder else {
            let (users, items, bank) = try tables()
            for (name, table) in [("user", users), ("item", items), ("bank", bank)] {
                if let problem = parameterCheck.firstOutOfRange(in: table, name: name) { return problem }
            }
            return nil
        }
        for (name, which) in [("user", ShardTable.users), ("item", .items), ("bank", .bank)] {
            var problem: String?
            try shards.forEachSlice(which) { first, slice in
                guard problem == nil, let index = parameterCheck.firstOutOfRange(slice) else { return }
                problem = parameterCheck.describe(name, UInt32(first + index / dim), slice[index])
            }
            if let problem { return problem }
        }
        return nil
    }

    /// Hash of users, items and bank (`TablesHash`), the same wherever the rows live. With shards it is computed
    /// slice by slice, as the bytes come (every slice but a table's last is a whole number of 8-byte words, so the
    /// running hash equals the hash of the whole table).
    func contentHash() throws -> UInt64 {
        guard case let .sharded(shards) = holder else {
            let (users, items, bank) = try tables()
            return TablesHash.of(users: users, items: items, bank: bank)
        }
        var h = TablesHash.seed
        for which in [ShardTable.users, .items, .bank] {
            try shards.forEachSlice(which) { _, slice in h = StateHash.fnv1a(UnsafeRawBufferPointer(slice), seed: h) }
        }
        return TablesHash.finished(h)
    }

    /// Writes users, items and the bank as .npy files into `directory`; with shards slice by slice, holding one
    /// slice at a time.
    func export(to directory: String) throws {
        let files = [(ShardTable.users, "user_embeddings.npy"), (.items, "item_embeddings.npy"), (.bank, "bank.npy")]
        switch holder {
        case .local:
            let (users, items, bank) = try tables()
            for (which, file) in files {
                try NpyFile.write(which == .users ? users : which == .items ? items : bank, to: directory + "/" + file)
            }
        case let .sharded(shards):
            for (which, file) in files {
                let rows = which == .users ? shards.userCount : shards.itemCount
                try NpyFile.writeFloats(shape: [rows, dim], to: directory + "/" + file) { append in
                    try shards.forEachSlice(which) { _, slice in try append(slice) }
                }
            }
        }
    }

    /// With shards: bytes moved over the links to them so far; nil without shards.
    var shardTraffic: (sent: Int, received: Int)? {
        if case let .sharded(shards) = holder { return shards.traffic }
        return nil
    }

    /// With shards: requests made of all of them at once so far (each a round trip); nil without shards.
    var shardRoundTrips: Int? {
        if case let .sharded(shards) = holder { return shards.exchanges }
        return nil
    }

    func close() {
        if case let .sharded(shards) = holder { shards.close() }
    }
}

extension SparseRows {
    /// The rows at `ids` (strictly ascending), when every one is among these rows (ids ascending); else nil.
    func subset(_ wanted: [UInt32]) -> SparseRows? {
        if wanted == ids { return self }
        var out = SparseRows(dim: dim)
        out.ids.reserveCapacity(wanted.count)
        out.values.reserveCapacity(wanted.count * dim)
        var k = 0
        for id in wanted {
            while k < ids.count, ids[k] < id { k += 1 }
            guard k < ids.count, ids[k] == id else { return nil }
            out.ids.append(id)
            out.values.append(contentsOf: values[k * dim ..< (k + 1) * dim])
        }
        return out
    }
}
