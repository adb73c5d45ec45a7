import Kernels
import RunSettings
import Wire

/// The negatives of a task and the item rows its gradient may hold, as functions of the spec and the task alone:
/// every worker draws the same negatives for a minibatch, and the coordinator derives from them what it accepts.
public struct TaskNegatives: Sendable {
    public let spec: TrainingSpec
    public let loss: LossSettings
    public let sampler: NegativeSampler

    /// Nil when the spec's popularity counts cannot be used.
    public init?(spec: TrainingSpec) {
        guard let sampler = spec.negativeSampler else { return nil }
        self.spec = spec
        loss = spec.loss
        self.sampler = sampler
    }

    /// The negatives of a minibatch: K bank rows for the bank losses, one live item per pair for BPR, none for
    /// pure in-batch losses. Drawn from the minibatch's own stream, so every worker draws the same.
    public func draw(for task: MinibatchTask) -> (ids: [UInt32], logQ: [Float]?) {
        var random = negativeStream(seed: spec.seed, epoch: task.epoch, minibatch: task.minibatch)
        let count = loss.negativesDrawn(pairs: task.users.count)
        guard count > 0 else { return ([], nil) }
        let ids = sampler.sample(count: count, random: &random)
        let logQ = loss.logQCorrection && loss.kind != .bpr ? ids.map { sampler.logProbability($0) } : nil
        return (ids, logQ)
    }

    /// The hard-negative pool of a minibatch (`LossSettings.hardNegatives`): `hardNegativePool` items drawn uniformly
    /// from a stream of its own, ascending without repeats; empty without hard negatives. Every worker draws the same.
    public func pool(for task: MinibatchTask) -> [UInt32] {
        guard loss.minesHardNegatives else { return [] }
        var random = SeededRandom(seed: spec.seed, stream: 0x4841_5244, UInt64(task.epoch), UInt64(task.minibatch))
        return TaskReads.sortedUnique((0 ..< loss.hardNegativePool).map { _ in
            UInt32(random.nextInt(below: spec.items))
        })
    }

    /// What the coordinator accepts as this task's GRADIENT: its users' rows, and the rows of its positives and of
    /// the negatives that the loss trains (BPR's, live negatives, trained bank negatives and the hard-negative pool;
    /// other bank negatives are constants), each value bounded through the norms of the rows involved (`TrainingSpec.gradientContract`).
    public func contract(for task: MinibatchTask, users: EmbeddingTable, items: EmbeddingTable,
                         bank: EmbeddingTable) -> GradientContract {
        contract(for: task, norms: TableNorms(users: users, items: items, bank: bank))
    }

    /// `contract(for:users:items:bank:)` with the rows' norms from `norms`.
    public func contract(for task: MinibatchTask, norms: some RowNorms) -> GradientContract {
        let drawn = draw(for: task).ids
        // BPR's negatives, live ones and trained bank ones get gradients, and are read at their item rows' lengths;
        // so does any item of the hard-negative pool (which ones a worker picks is its computation, not a rule).
        let fromItemRows = loss.kind == .bpr || loss.trainsNegatives
        let pool = pool(for: task)
        let trained = (fromItemRows ? drawn : []) + pool
        let scale: Float
        if spec.comparesByCosine {
            // |d cos(u, v) / du| ≤ 1/|u|: the smallest norm among the rows that get gradients.
            let smallest = min(norms.users(task.users).min, norms.items(task.items + trained).min)
            scale = 1 / smallest
        } else {
            // |d (u · v) / du| = |v|: the largest norm among the rows compared (negatives at their item rows' lengths
            // when they get gradients, else the bank's; the pool's at their item rows' lengths).
            scale = max(norms.users(task.users).max, norms.items(task.items + pool).max,
                        fromItemRows ? norms.items(drawn).max : norms.bank(drawn).max)
        }
        return spec.gradientContract(users: task.users, positives: task.items, trainedNegatives: trained,
                                     similarityScale: scale.isFinite ? scale : .greatestFiniteMagnitude)
    }

    /// The smallest and largest Euclidean norm of the rows `ids` of `table` (ids within the table). The squares are
    /// summed in eight lanes (a bound, not a result: the order of the sum does not matter).
    static func norms(_ table: EmbeddingTable, _ ids: [UInt32]) -> (min: Float, max: Float) {
        var low = Float.infinity, high: Float = 0
        let d = table.dim, lanes = d - d % 8
        table.withUnsafeValues { values in
            for id in ids {
                let row = values.baseAddress! + Int(id) * d
                var partial = SIMD8<Float>()
                var j = 0
                while j < lanes {
                    let x = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                    partial += x * x
                    j += 8
                }
                var sum = partial.sum()
                while j < d {
                    sum += row[j] * row[j]
                    j += 1
                }
                low = min(low, sum)
                high = max(high, sum)
            }
        }
        return (low.squareRoot(), high.squareRoot())
    }
}

/// The smallest and largest Euclidean norm of rows of the users, the live items and the bank, by id: what a
/// GRADIENT's value bound is derived from (`TaskNegatives.contract`).
public protocol RowNorms {
    func users(_ ids: [UInt32]) -> (min: Float, max: Float)
    func items(_ ids: [UInt32]) -> (min: Float, max: Float)
    func bank(_ ids: [UInt32]) -> (min: Float, max: Float)
}

/// Norms read from whole tables.
public struct TableNorms: RowNorms {
    public let usersTable: EmbeddingTable
    public let itemsTable: EmbeddingTable
    public let bankTable: EmbeddingTable

    public init(users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) {
        usersTable = users
        itemsTable = items
        bankTable = bank
    }

    public func users(_ ids: [UInt32]) -> (min: Float, max: Float) { TaskNegatives.norms(usersTable, ids) }
    public func items(_ ids: [UInt32]) -> (min: Float, max: Float) { TaskNegatives.norms(itemsTable, ids) }
    public func bank(_ ids: [UInt32]) -> (min: Float, max: Float) { TaskNegatives.norms(bankTable, ids) }
}
