import Kernels
import MemoryBank
import Replication

/// The rows that one applied step changed: what replicas need to move from `baseVersion` to `version`.
public struct StepDelta: Sendable, Equatable {
    public var baseVersion: UInt64
    public var version: UInt64
    public var users: SparseRows
    public var items: SparseRows
    public var bank: SparseRows

    public static func empty(at version: UInt64, dim: Int) -> StepDelta {
        StepDelta(baseVersion: version, version: version, users: SparseRows(dim: dim), items: SparseRows(dim: dim),
                  bank: SparseRows(dim: dim))
    }
}

/// One minibatch's contribution to a step, in the form the averager needs.
public struct MinibatchContribution: Sendable {
    public var examples: Int
    public var lossSum: Double
    public var users: SparseRows
    public var items: SparseRows
    /// The minibatch's positive items: their bank rows move after the step.
    public var positives: [UInt32]
    /// Negatives read from the bank whose gradients went into their item rows (`trainedBankNegatives`): their bank
    /// rows move after the step too. Empty for the other losses.
    public var trainedBankNegatives: [UInt32]

    public init(examples: Int, lossSum: Double, users: SparseRows, items: SparseRows, positives: [UInt32],
                trainedBankNegatives: [UInt32] = []) {
        self.examples = examples
        self.lossSum = lossSum
        self.users = users
        self.items = items
        self.positives = positives
        self.trainedBankNegatives = trainedBankNegatives
    }
}

/// The authoritative parameters: user and item tables, their optimizers, and the memory bank.
///
/// With dense Adam the rows absent from a step take its momentum step lazily (`SparseOptimizer.catchUp`): a reader
/// of rows catches them up first (`catchUp(users:items:)`), a reader of whole tables or of the optimizer state
/// calls `catchUpAll()` first (the checkpoint, `contentHash` and `catchUpAll` callers in the coordinator do).
public final class TrainingState {
    public let users: EmbeddingTable
    public let items: EmbeddingTable
    public let bank: MemoryBank
    public let userOptimizer: SparseOptimizer
    public let itemOptimizer: SparseOptimizer
    public private(set) var version: UInt64
    private let userAverager: GradientAverager
    private let itemAverager: GradientAverager

    public init(users: EmbeddingTable, items: EmbeddingTable, bank: MemoryBank, optimizer: OptimizerSettings,
                version: UInt64) {
        precondition(users.dim == items.dim && items.dim == bank.table.dim, "tables disagree on dim")
        self.users = users
        self.items = items
        self.bank = bank
        self.version = version
        userOptimizer = SparseOptimizer(settings: optimizer, rows: users.rows, dim: users.dim)
        itemOptimizer = SparseOptimizer(settings: optimizer, rows: items.rows, dim: items.dim)
        userAverager = GradientAverager(rows: users.rows, dim: users.dim)
        itemAverager = GradientAverager(rows: items.rows, dim: items.dim)
    }

    /// Fresh parameters: N(0, initStd²) tables from the seed, the bank from the normalised item rows.
    public convenience init(userCount: Int, itemCount: Int, dim: Int, initStd: Float, seed: UInt64,
                            momentum: Float, optimizer: OptimizerSettings) {
        var random = SeededRandom(seed: seed, stream: 0x1A17)
        let users = EmbeddingTable(rows: userCount, dim: dim, normalStd: initStd, random: &random)
        let items = EmbeddingTable(rows: itemCount, dim: dim, normalStd: initStd, random: &random)
        let bank = MemoryBank(initialItems: items, momentum: momentum)
        self.init(users: users, items: items, bank: bank, optimizer: optimizer, version: 0)
    }

    /// The rows of `partition` of the fresh parameters above: every value of both tables is drawn in the same order
    /// as there, and the shard keeps its own rows, so its rows equal those rows of the whole state bit for bit.
    public convenience init(partition: RowPartition, userCount: Int, itemCount: Int, dim: Int, initStd: Float,
                            seed: UInt64, momentum: Float, optimizer: OptimizerSettings) {
        var random = SeededRandom(seed: seed, stream: 0x1A17)
        func draw(_ total: Int) -> EmbeddingTable {
            let table = EmbeddingTable(rows: partition.rows(of: total), dim: dim)
            table.withUnsafeMutableValues { values in
                var row = 0
                for r in 0 ..< total {
                    let owned = partition.owns(UInt32(r))
                    for j in 0 ..< dim {
                        let value = Float(random.nextGaussian()) * initStd
                        if owned { values[row * dim + j] = value }
                    }
                    if owned { row += 1 }
                }
            }
            return table
        }
        let users = draw(userCount)
        let items = draw(itemCount)
        self.init(users: users, items: items, bank: MemoryBank(initialItems: items, momentum: momentum),
                  optimizer: optimizer, version: 0)
    }

    public var dim: Int { users.dim }

    /// Averages the contributions in the order given (weighted by examples), applies the optimizer (the delta holds
    /// the rows that moved in this step: the gradient's rows; with dense Adam the other rows still moving on their
    /// momentum move when they are read, `catchUp`), moves the bank rows of the positives and of the trained bank
    /// negatives (their item rows caught up first), and advances the version by one.
    /// `learningRateScale` multiplies the optimizer's learning rate for this step.
    public func apply(_ contributions: [MinibatchContribution], learningRateScale: Float = 1) -> StepDelta {
        let examples = contributions.reduce(0) { $0 + $1.examples }
        precondition(examples > 0, "a step with no examples")
        let base = version
        version += 1
        // The user side and the item side (with the bank) share nothing: they run at once.
        var userRows = SparseRows(dim: dim), itemRows = SparseRows(dim: dim), bankRows = SparseRows(dim: dim)
        RowLanes.both({
            for c in contributions { self.userAverager.add(c.users) }
            let gradient = self.userAverager.finish(examples: examples)
            let moved = self.userOptimizer.apply(gradient, to: self.users, learningRateScale: learningRateScale)
            userRows = self.users.rows(moved)
        }, {
            for c in contributions { self.itemAverager.add(c.items) }
            let gradient = self.itemAverager.finish(examples: examples)
            let moved = self.itemOptimizer.apply(gradient, to: self.items, learningRateScale: learningRateScale)
            itemRows = self.items.rows(moved)
            let followed = contributions.flatMap { $0.positives + $0.trainedBankNegatives }
            self.itemOptimizer.catchUp(followed, in: self.items)   // the bank reads them
            bankRows = self.bank.update(itemIds: followed, itemTable: self.items, newVersion: base + 1)
        })
        return StepDelta(baseVersion: base, version: version, users: userRows, items: itemRows, bank: bankRows)
    }

    /// Brings the rows named to the current step (dense Adam; a no-op for the other optimizers). Ids are the
    /// coordinator's own (each within its table), in any order, repeats allowed.
    public func catchUp(users userIds: some Sequence<UInt32>, items itemIds: some Sequence<UInt32>) {
        userOptimizer.catchUp(userIds, in: users)
        itemOptimizer.catchUp(itemIds, in: items)
    }

    /// `catchUp(users:items:)` of rows in strictly ascending order (a STEP's rows), spread over the cores.
    public func catchUp(ascendingUsers userIds: [UInt32], ascendingItems itemIds: [UInt32]) {
        userOptimizer.catchUp(ascending: userIds, in: users)
        itemOptimizer.catchUp(ascending: itemIds, in: items)
    }

    /// Bank rows `ids` as trained bank negatives read them (`LossSettings.trainedBankNegatives`): each bank row (a
    /// unit direction) times the Euclidean length of its item row, so that a worker computing with it sees the
    /// bank's direction at the live row's length, and the gradient it derives through that length is the live
    /// row's. The item rows must be caught up (`catchUp`); ids within the tables.
    public func bankRowsAtLiveLength(_ ids: [UInt32]) -> SparseRows {
        var out = bank.table.rows(ids)
        let d = dim
        items.withUnsafeValues { live in
            out.values.withUnsafeMutableBufferPointer { rows in
                for k in ids.indices {
                    let item = live.baseAddress! + Int(ids[k]) * d
                    let length = dotProduct(item, item, count: d).squareRoot()
                    for j in 0 ..< d { rows[k * d + j] *= length }
                }
            }
        }
        return out
    }

    /// Brings every row of both tables to the current step: before the whole tables or the optimizer state are read.
    public func catchUpAll() {
        userOptimizer.catchUpAll(in: users)
        itemOptimizer.catchUpAll(in: items)
    }

    /// Hash of users, items and bank, every row caught up first.
    public func contentHash() -> UInt64 {
        catchUpAll()
        return TablesHash.of(users: users, items: items, bank: bank.table)
    }

    /// Restores the version (resume).
    public func setVersion(_ v: UInt64) { version = v }
}
