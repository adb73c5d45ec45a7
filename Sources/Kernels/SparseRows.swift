/// A set of table rows: row ids and their values (ids.count, dim), row-major.
///
/// Gradients, parameter updates and bank deltas travel in this form and are never densified.
public struct SparseRows: Equatable, Sendable {
    public var dim: Int
    public var ids: [UInt32]
    /// values (ids.count, dim)
    public var values: [Float]

    public init(dim: Int, ids: [UInt32] = [], values: [Float] = []) {
        precondition(values.count == ids.count * dim, "SparseRows: \(ids.count) ids × dim \(dim) != \(values.count) values")
        self.dim = dim
        self.ids = ids
        self.values = values
    }

    public var count: Int { ids.count }
    public var isEmpty: Bool { ids.isEmpty }

    public func row(_ k: Int) -> ArraySlice<Float> { values[k * dim ..< (k + 1) * dim] }

    public mutating func append(id: UInt32, row: some Collection<Float>) {
        precondition(row.count == dim, "row of \(row.count) values for dim \(dim)")
        ids.append(id)
        values.append(contentsOf: row)
    }

    /// Rows sorted by id with duplicate ids summed (in their order of appearance).
    public func coalesced() -> SparseRows {
        if ids.isEmpty { return self }
        let order = ids.indices.sorted { ids[$0] != ids[$1] ? ids[$0] < ids[$1] : $0 < $1 }
        var out = SparseRows(dim: dim)
        out.ids.reserveCapacity(ids.count)
        out.values.reserveCapacity(values.count)
        for k in order {
            if let last = out.ids.last, last == ids[k] {
                let base = out.values.count - dim
                for j in 0 ..< dim { out.values[base + j] += values[k * dim + j] }
            } else {
                out.ids.append(ids[k])
                out.values.append(contentsOf: values[k * dim ..< (k + 1) * dim])
            }
        }
        return out
    }
}
