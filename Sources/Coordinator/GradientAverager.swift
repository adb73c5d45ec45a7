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
        guard !gradient.ids.isEmpty, d > 0 else { return }
        // First give every new row a slot (its sums start at zero), then add, row by row, in the gradient's order.
        var newRows = 0
        slot.withUnsafeMutableBufferPointer { slot in
            for id in gradient.ids {
                precondition(Int(id) < rows, "gradient row \(id) outside 0..<\(rows)")
                if slot[Int(id)] < 0 {
                    slot[Int(id)] = Int32(ids.count)
                    ids.append(id)
                    newRows += 1
                }
            }
        }
        sums.append(contentsOf: repeatElement(0, count: newRows * d))
        slot.withUnsafeBufferPointer { slot in
            gradient.values.withUnsafeBufferPointer { values in
                sums.withUnsafeMutableBufferPointer { sums in
                    let src = values.baseAddress!, dst = sums.baseAddress!
                    for (k, id) in gradient.ids.enumerated() {
                        let row = dst + Int(slot[Int(id)]) * d, g = src + k * d
                        for j in 0 ..< d { row[j] += g[j] }
                    }
                }
            }
        }
    }

    /// The averaged gradient, rows sorted by id, each sum divided by `examples`; resets for the next step.
    public func finish(examples: Int) -> SparseRows {
        precondition(examples > 0, "averaging over \(examples) examples")
        let scale = 1 / Float(examples)
        let d = dim
        let n = ids.count
        // (id, slot) packed in one integer: ids are distinct, so sorting the keys sorts by id.
        var keys = ids.enumerated().map { UInt64($0.element) << 32 | UInt64($0.offset) }
        keys.sort()
        var out = SparseRows(dim: d)
        out.ids = keys.map { UInt32($0 >> 32) }
        out.values = [Float](unsafeUninitializedCapacity: n * d) { values, initialized in
            guard n * d > 0 else { return }
            sums.withUnsafeBufferPointer { sums in
                for (k, key) in keys.enumerated() {
                    let from = sums.baseAddress! + Int(key & 0xFFFF_FFFF) * d, to = values.baseAddress! + k * d
                    for j in 0 ..< d { (to + j).initialize(to: from[j] * scale) }
                }
            }
            initialized = n * d
        }
        for id in ids { slot[Int(id)] = -1 }
        ids.removeAll(keepingCapacity: true)
        sums.removeAll(keepingCapacity: true)
        return out
    }
}
