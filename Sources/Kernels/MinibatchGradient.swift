/// The result of one minibatch: the summed loss and the summed gradients of the touched rows.
public struct MinibatchGradient: Sendable, Equatable {
    /// Σ over the B pairs of the per-pair loss.
    public var lossSum: Double
    /// B, the number of pairs.
    public var examples: Int
    /// d(lossSum)/dU for touched user rows: ids ascending, unique.
    public var users: SparseRows
    /// d(lossSum)/dV for touched item rows (positives, plus in-batch/BPR negatives): ids ascending, unique.
    public var items: SparseRows

    public init(lossSum: Double, examples: Int, users: SparseRows, items: SparseRows) {
        self.lossSum = lossSum
        self.examples = examples
        self.users = users
        self.items = items
    }
}
