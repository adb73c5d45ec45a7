/// The rows a contrastive kernel scores, row-major: q (B, d) queries, p (B, d) their positives, n (K, d) the
/// negatives shared by every row (nil when K == 0). The pointers are borrowed for one kernel call.
public struct ContrastiveRows {
    public let q: UnsafePointer<Float>
    public let p: UnsafePointer<Float>
    public let n: UnsafePointer<Float>?
    /// B.
    public let batch: Int
    /// K.
    public let negatives: Int
    /// d.
    public let dim: Int

    @inlinable
    public init(q: UnsafePointer<Float>, p: UnsafePointer<Float>, n: UnsafePointer<Float>?, batch: Int,
                negatives: Int, dim: Int) {
        self.q = q
        self.p = p
        self.n = n
        self.batch = batch
        self.negatives = negatives
        self.dim = dim
    }
}

/// Which negative logits a contrastive kernel leaves out or shifts. positiveIds (B), negativeIds (K): when both
/// are given, a negative whose item id is the row's positive is masked (logit −∞); with `seen`, so is every
/// negative among the items of the row's user (`SeenItems`). negativeLogitOffset (K): subtracted from every row's
/// negative logit k (logQ correction). Borrowed for one kernel call.
public struct LogitMasks {
    public let positiveIds: UnsafePointer<UInt32>?
    public let negativeIds: UnsafePointer<UInt32>?
    public let negativeLogitOffset: UnsafePointer<Float>?
    public let seen: SeenItemsView?

    @inlinable
    public init(positiveIds: UnsafePointer<UInt32>? = nil, negativeIds: UnsafePointer<UInt32>? = nil,
                negativeLogitOffset: UnsafePointer<Float>? = nil, seen: SeenItemsView? = nil) {
        self.positiveIds = positiveIds
        self.negativeIds = negativeIds
        self.negativeLogitOffset = negativeLogitOffset
        self.seen = seen
    }

    /// Nothing masked, nothing shifted.
    public static var none: LogitMasks { LogitMasks() }
}

/// Negatives of a row's own (hard negatives), beside the K shared ones: row b scores the first `counts[b]` of its
/// `perRow` rows, rows[(b·perRow + m)·d ..< …+d], with the same similarity (the rows are normalised like the others
/// for cosine) and without offsets or masks (the rows were chosen among the row's candidates). The kernel writes
/// each slot's dLoss/drow into `gradients` (B·perRow, d; zero for the unused slots). `weights` (B·perRow) is
/// scratch. Borrowed for one kernel call.
public struct RowNegatives {
    public let rows: UnsafePointer<Float>
    public let perRow: Int
    public let counts: UnsafePointer<Int32>
    public let weights: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>

    @inlinable
    public init(rows: UnsafePointer<Float>, perRow: Int, counts: UnsafePointer<Int32>,
                weights: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>) {
        self.rows = rows
        self.perRow = perRow
        self.counts = counts
        self.weights = weights
        self.gradients = gradients
    }
}
