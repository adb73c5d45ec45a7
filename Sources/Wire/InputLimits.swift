/// The bounds within which a receiver accepts a run: what a worker can hold and compute, stated before it
/// allocates anything. A spec outside them is refused with a sentence that names the bound.
public struct InputLimits: Sendable, Equatable {
    /// Rows of the user table and of the item table (each).
    public var maxRows: Int
    public var maxDim: Int
    /// K, the negatives of a minibatch.
    public var maxNegatives: Int
    /// (user, item) pairs of one task.
    public var maxPairsPerTask: Int
    /// Tasks in one STEP.
    public var maxTasksPerStep: Int
    /// Bytes the worker may spend on a run's spec (its negative sampler and seen items) and on one task's logits.
    public var memoryBytes: Int

    public init(maxRows: Int = 1 << 31 - 1, maxDim: Int = 4096, maxNegatives: Int = 1 << 20,
                maxPairsPerTask: Int = 1 << 20, maxTasksPerStep: Int = 1 << 16, memoryBytes: Int = 16 << 30) {
        self.maxRows = maxRows
        self.maxDim = maxDim
        self.maxNegatives = maxNegatives
        self.maxPairsPerTask = maxPairsPerTask
        self.maxTasksPerStep = maxTasksPerStep
        self.memoryBytes = memoryBytes
    }

    /// Bytes a worker keeps for a spec: the negative sampler's tables (12 bytes an item: probabilities and
    /// aliases, and the per-item slot of the seen-items lookup) and the seen items (8 bytes a user, 4 a pair); nil on
    /// overflow. A worker holds no copy of the parameters: the rows a task reads come with its STEP.
    public static func specBytes(users: Int, items: Int, seenPairs: Int) -> Int? {
        let (a, o1) = users.multipliedReportingOverflow(by: 8)
        let (b, o2) = items.multipliedReportingOverflow(by: 12)
        let (c, o3) = seenPairs.multipliedReportingOverflow(by: 4)
        let (ab, o4) = a.addingReportingOverflow(b)
        let (all, o5) = ab.addingReportingOverflow(c)
        return o1 || o2 || o3 || o4 || o5 ? nil : all
    }

    /// Bytes of the logits and their gradients of one task of `pairs` pairs against `negatives` negatives (the
    /// in-batch columns included): 2 × pairs × (negatives + pairs + 1) f32; nil on overflow.
    public static func taskBytes(pairs: Int, negatives: Int) -> Int? {
        let (columns, o1) = negatives.addingReportingOverflow(pairs + 1)
        let (cells, o2) = pairs.multipliedReportingOverflow(by: columns)
        let (bytes, o3) = cells.multipliedReportingOverflow(by: 8)
        return o1 || o2 || o3 ? nil : bytes
    }
}
