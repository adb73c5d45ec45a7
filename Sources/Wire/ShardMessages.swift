/// The messages between the coordinator and its state shards (`--shards`): each shard holds the rows r of the user
/// table, the item table, the bank and the optimizer state with r % count == index, and answers one request at a
/// time. Ids on the wire are the tables' global ids. Byte layouts: docs/PROTOCOL.md, "State shards".

/// SHARD_OPEN: what the shard holds and how to make it: fresh parameters from the run's seed, or (`restore`) the
/// shard's own checkpoint of a step, the run's consistent cut named by the coordinator's checkpoint.
///
/// Wire form: u64 runId, u32 index, u32 count, u32 users, u32 items, u32 dim, f32 initStd, u64 seed, f32 momentum,
/// u8 optimizer kind (0 adam, 1 dense-adam, 2 sgd, 3 adagrad), f32 learningRate, f32 beta1, f32 beta2, f32 epsilon,
/// f32 weightDecay, f32 parameterLimit (the largest magnitude a parameter may take: `ParameterCheck`), then
/// u64 restoreStep, u64 restoreVersion, u32 restoreChecksum (all 0: fresh).
public struct ShardOpen: Equatable, Sendable {
    public var runId: UInt64
    public var index: UInt32
    public var count: UInt32
    public var users: UInt32
    public var items: UInt32
    public var dim: UInt32
    public var initStd: Float
    public var seed: UInt64
    public var momentum: Float
    public var optimizerKind: UInt8
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var parameterLimit: Float
    /// The checkpoint to restore instead of drawing fresh parameters, or nil.
    public var restore: ShardRestore?

    public init(runId: UInt64, index: UInt32, count: UInt32, users: UInt32, items: UInt32, dim: UInt32,
                initStd: Float, seed: UInt64, momentum: Float, optimizerKind: UInt8, learningRate: Float,
                beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, parameterLimit: Float,
                restore: ShardRestore? = nil) {
        self.runId = runId
        self.index = index
        self.count = count
        self.users = users
        self.items = items
        self.dim = dim
        self.initStd = initStd
        self.seed = seed
        self.momentum = momentum
        self.optimizerKind = optimizerKind
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.parameterLimit = parameterLimit
        self.restore = restore
    }

    /// The first rule the request breaks (what a shard must not build), or nil.
    public func refusal(maxDim: Int = 4096) -> Refusal? {
        if count == 0 || index >= count { return .invalid("shard_index", "shard \(index) of \(count)") }
        if dim == 0 || Int(dim) > maxDim { return .invalid("shard_dim", "dim \(dim) outside 1...\(maxDim)") }
        if optimizerKind > 3 { return .invalid("shard_optimizer", "optimizer kind \(optimizerKind)") }
        for (name, value) in [("initStd", initStd), ("learningRate", learningRate), ("beta1", beta1),
                              ("beta2", beta2), ("epsilon", epsilon), ("weightDecay", weightDecay)]
            where !value.isFinite || value < 0 {
            return .invalid("shard_\(name)", "\(name) \(value) is not a finite value ≥ 0")
        }
        if !(parameterLimit.isFinite && parameterLimit > 0) {
            return .invalid("shard_parameter_limit", "parameter limit \(parameterLimit) is not a finite value > 0")
        }
        // A normal draw of the generator stays within 9σ: fresh rows then stay within the limit.
        if initStd * 9 > parameterLimit {
            return .invalid("shard_init_std", "initStd \(initStd) could draw values beyond the parameter limit \(parameterLimit)")
        }
        if !(momentum >= 0 && momentum <= 1) { return .invalid("shard_momentum", "bank momentum \(momentum) outside [0, 1]") }
        if !(beta1 < 1 && beta2 < 1) { return .invalid("shard_betas", "betas \(beta1), \(beta2) must be below 1") }
        return nil
    }
}

/// Which of its checkpoints a shard restores on SHARD_OPEN: the one of coordinator step `step` (≥ 1), whose state
/// is at `version` and whose body has the CRC32C `checksum` that the shard reported in SHARD_SAVED.
public struct ShardRestore: Equatable, Sendable {
    public var step: UInt64
    public var version: UInt64
    public var checksum: UInt32

    public init(step: UInt64, version: UInt64, checksum: UInt32) {
        self.step = step
        self.version = version
        self.checksum = checksum
    }
}

/// SHARD_READ: the rows a STEP carries, at the shard's current version (caught up first).
///
/// Wire form: u64 version, u8 flags (bit 0: bank rows at their item rows' lengths; bit 1: prepare only — catch the
/// rows up and answer with empty blocks), u32 n + n × u32 users,
/// u32 n + n × u32 items, u32 n + n × u32 bank — each strictly ascending, every id the shard's.
public struct ShardRead: Equatable, Sendable {
    public var version: UInt64
    public var bankAtLiveLength: Bool
    /// Only bring the rows up to the version (dense Adam's catch-up, ahead of a step that will read them); the
    /// answer carries no rows.
    public var prepareOnly: Bool
    public var users: [UInt32]
    public var items: [UInt32]
    public var bank: [UInt32]

    public init(version: UInt64, bankAtLiveLength: Bool, prepareOnly: Bool = false, users: [UInt32], items: [UInt32],
                bank: [UInt32]) {
        self.version = version
        self.bankAtLiveLength = bankAtLiveLength
        self.prepareOnly = prepareOnly
        self.users = users
        self.items = items
        self.bank = bank
    }
}

/// SHARD_ROWS: a shard's answer to SHARD_READ, or a slice of a whole table (SHARD_EXPORT: only the block asked for
/// holds rows).
///
/// Wire form: u64 version, rows users, rows items, rows bank.
public struct ShardRows: Equatable, Sendable {
    public var version: UInt64
    public var users: RowBlock
    public var items: RowBlock
    public var bank: RowBlock

    public init(version: UInt64, users: RowBlock, items: RowBlock, bank: RowBlock) {
        self.version = version
        self.users = users
        self.items = items
        self.bank = bank
    }
}

/// One minibatch's share of a step for one shard: its gradient rows of the shard's rows, the minibatch's example
/// count and loss (of the whole minibatch), and the item ids whose bank rows follow their item rows.
public struct ShardContribution: Equatable, Sendable {
    public var examples: UInt32
    public var lossSum: Double
    public var users: RowBlock
    public var items: RowBlock
    public var followed: [UInt32]

    public init(examples: UInt32, lossSum: Double, users: RowBlock, items: RowBlock, followed: [UInt32]) {
        self.examples = examples
        self.lossSum = lossSum
        self.users = users
        self.items = items
        self.followed = followed
    }
}

/// SHARD_APPLY: step `version` → `version + 1`, its minibatches in order.
///
/// Wire form: u64 version, f32 learningRateScale, u32 n, then n × (u32 examples, f64 lossSum, rows users,
/// rows items, u32 m + m × u32 followed).
public struct ShardApply: Equatable, Sendable {
    public var version: UInt64
    public var learningRateScale: Float
    public var minibatches: [ShardContribution]

    public init(version: UInt64, learningRateScale: Float, minibatches: [ShardContribution]) {
        self.version = version
        self.learningRateScale = learningRateScale
        self.minibatches = minibatches
    }
}

/// Which table a SHARD_EXPORT asks for.
public enum ShardTable: UInt8, Sendable, CaseIterable {
    case users = 0
    case items = 1
    case bank = 2
}

extension ShardOpen {
    func write(to w: inout ByteWriter) {
        w.u64(runId)
        w.u32(index)
        w.u32(count)
        w.u32(users)
        w.u32(items)
        w.u32(dim)
        w.f32(initStd)
        w.u64(seed)
        w.f32(momentum)
        w.u8(optimizerKind)
        w.f32(learningRate)
        w.f32(beta1)
        w.f32(beta2)
        w.f32(epsilon)
        w.f32(weightDecay)
        w.f32(parameterLimit)
        w.u64(restore?.step ?? 0)
        w.u64(restore?.version ?? 0)
        w.u32(restore?.checksum ?? 0)
    }

    static func read(from r: inout ByteReader) throws(WireError) -> ShardOpen {
        var open = ShardOpen(runId: try r.u64("shard_open runId"), index: try r.u32("shard_open index"),
                  count: try r.u32("shard_open count"), users: try r.u32("shard_open users"),
                  items: try r.u32("shard_open items"), dim: try r.u32("shard_open dim"),
                  initStd: try r.f32("shard_open initStd"), seed: try r.u64("shard_open seed"),
                  momentum: try r.f32("shard_open momentum"), optimizerKind: try r.u8("shard_open optimizer"),
                  learningRate: try r.f32("shard_open learningRate"), beta1: try r.f32("shard_open beta1"),
                  beta2: try r.f32("shard_open beta2"), epsilon: try r.f32("shard_open epsilon"),
                  weightDecay: try r.f32("shard_open weightDecay"),
                  parameterLimit: try r.f32("shard_open parameterLimit"))
        let step = try r.u64("shard_open restoreStep"), version = try r.u64("shard_open restoreVersion")
        let checksum = try r.u32("shard_open restoreChecksum")
        if step > 0 {
            open.restore = ShardRestore(step: step, version: version, checksum: checksum)
        } else if version != 0 || checksum != 0 {
            throw .invalid("shard_open restores no step but names version \(version), checksum \(checksum)")
        }
        return open
    }
}

extension ShardRead {
    func write(to w: inout ByteWriter) {
        w.u64(version)
        w.u8((bankAtLiveLength ? 1 : 0) | (prepareOnly ? 2 : 0))
        for ids in [users, items, bank] {
            w.u32(ids.count, "shard_read ids")
            w.u32s(ids)
        }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> ShardRead {
        let version = try r.u64("shard_read version")
        let flags = try r.u8("shard_read flags")
        guard flags <= 3 else { throw .invalid("shard_read flags \(flags)") }
        func ids(_ what: String) throws(WireError) -> [UInt32] { try r.u32s(try r.count("\(what) count"), what) }
        return ShardRead(version: version, bankAtLiveLength: flags & 1 != 0, prepareOnly: flags & 2 != 0, users: try ids("shard_read users"),
                         items: try ids("shard_read items"), bank: try ids("shard_read bank"))
    }
}

extension ShardRows {
    func write(to w: inout ByteWriter) {
        w.u64(version)
        users.write(to: &w)
        items.write(to: &w)
        bank.write(to: &w)
    }

    static func read(from r: inout ByteReader) throws(WireError) -> ShardRows {
        ShardRows(version: try r.u64("shard_rows version"), users: try RowBlock.read(from: &r, "shard_rows users"),
                  items: try RowBlock.read(from: &r, "shard_rows items"),
                  bank: try RowBlock.read(from: &r, "shard_rows bank"))
    }
}

extension ShardApply {
    func write(to w: inout ByteWriter) {
        w.u64(version)
        w.f32(learningRateScale)
        w.u32(minibatches.count, "shard_apply minibatches")
        for m in minibatches {
            w.u32(m.examples)
            w.f64(m.lossSum)
            m.users.write(to: &w)
            m.items.write(to: &w)
            w.u32(m.followed.count, "shard_apply followed")
            w.u32s(m.followed)
        }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> ShardApply {
        let version = try r.u64("shard_apply version")
        let scale = try r.f32("shard_apply learningRateScale")
        let n = try r.count("shard_apply minibatches")
        // Each minibatch takes at least 32 bytes: refuse a count the payload cannot hold before reserving for it.
        guard n <= r.remaining / 32 else { throw .truncated(what: "shard_apply (\(n) minibatches)") }
        var minibatches: [ShardContribution] = []
        minibatches.reserveCapacity(n)
        for k in 0 ..< n {
            let examples = try r.u32("shard_apply \(k) examples")
            let lossSum = try r.f64("shard_apply \(k) lossSum")
            let users = try RowBlock.read(from: &r, "shard_apply \(k) users")
            let items = try RowBlock.read(from: &r, "shard_apply \(k) items")
            let followed = try r.u32s(try r.count("shard_apply \(k) followed count"), "shard_apply \(k) followed")
            minibatches.append(ShardContribution(examples: examples, lossSum: lossSum, users: users, items: items,
                                                 followed: followed))
        }
        return ShardApply(version: version, learningRateScale: scale, minibatches: minibatches)
    }
}
