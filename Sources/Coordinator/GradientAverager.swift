import Kernels

/// Sums sparse gradients in a fixed order and divides by the example count, without densifying.
///
/// A slot map (one `Int32` per table row) finds a row's accumulator; only touched slots are reset afterwards.
public final class GradientAverager {
    public let rows: Int
    public let dim: Int
    private var slot: [Int32]
    private var ids: [UInt32] = []
    /// sums (ids.count, dim)
    private var sums: [Float] = []

    public init(rows: Int, dim: Int) {
        self.rows = rows
        self.dim = dim
        slot = [Int32](repeating: -1, count: rows)
    }

    /// Adds one gradient's rows into the running sums.
    public func add(_ gradient: SparseRows) {
        precondition(gradient.dim == dim, "gradient of dim \(gradient.dim) for a table of dim \(dim)")
        let d = dim
        for (k, id) in gradient.ids.enumerated() {
            precondition(Int(id) < rows, "gradient row \(id) outside 0..<\(rows)")
            var s = Int(slot[Int(id)])
            if s < 0 {
                s = ids.count
                slot[Int(id)] = Int32(s)
                ids.append(id)
                sums.append(contentsOf: repeatElement(0, count: d))
            }
            let base = s * d
            let src = k * d
            for j in 0 ..< d { sums[base + j] += gradient.values[src + j] }
        }
    }

    /// The averaged gradient, rows sorted by id, each sum divided by `examples`; resets for the next step.
    public func finish(examples: Int) -> SparseRows {
        precondition(examples > 0, "averaging over \(examples) examples")
        let scale = 1 / Float(examples)
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        var out = SparseRows(dim: dim)
        out.ids.reserveCapacity(ids.count)
        out.values.reserveCapacity(ids.count * dim)
        for s in order {
            out.ids.append(ids[s])
            for j in 0 ..< dim { out.values.append(sums[s * dim + j] * scale) }
            slot[Int(ids[s])] = -1
        }
        ids.removeAll(keepingCapacity: true)
        sums.removeAll(keepingCapacity: true)
        return out
    }
}
