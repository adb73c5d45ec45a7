import Kernels

/// The versioned item memory bank: one unit-norm row per item, moved towards the live item embeddings by momentum.
///
/// The coordinator owns the bank and calls `update` after each step; STEPs carry the bank rows their tasks read.
/// `version` is the step count the bank has reached (the coordinator's state version).
public final class MemoryBank {
    /// items × d, unit rows.
    public let table: EmbeddingTable
    /// m in bank[i] ← normalize(m·bank[i] + (1−m)·normalize(V[i])).
    public let momentum: Float
    public private(set) var version: UInt64
    /// Reused scratch: the sorted unique ids of an update, and the sort's own scratch.
    private var sortedIds: [UInt32] = []
    private var sortScratch: [UInt32] = []

    /// Bank initialised from the normalised rows of `initialItems`, version 0.
    public convenience init(initialItems: EmbeddingTable, momentum: Float) {
        var values = initialItems.withUnsafeValues { Array($0) }
        normalizeRows(&values, dim: initialItems.dim)
        self.init(table: EmbeddingTable(rows: initialItems.rows, dim: initialItems.dim, values: values),
                  momentum: momentum, version: 0)
    }

    /// A bank restored from a checkpoint.
    public init(table: EmbeddingTable, momentum: Float, version: UInt64) {
        precondition(momentum >= 0 && momentum <= 1, "bank momentum must be in [0, 1], got \(momentum)")
        self.table = table
        self.momentum = momentum
        self.version = version
    }

    /// For each id in `itemIds` (any order, duplicates allowed; processed once each, ascending):
    /// bank[i] ← normalize(m·bank[i] + (1−m)·normalize(itemTable[i])). Sets version = newVersion.
    /// Returns the changed rows (ids ascending, new values).
    @discardableResult
    public func update(itemIds: [UInt32], itemTable: EmbeddingTable, newVersion: UInt64) -> SparseRows {
        precondition(itemTable.dim == table.dim && itemTable.rows == table.rows,
                     "bank of \(table.rows)×\(table.dim) updated from an item table of \(itemTable.rows)×\(itemTable.dim)")
        sortedIds.removeAll(keepingCapacity: true)
        sortedIds.append(contentsOf: itemIds)
        radixSort(&sortedIds, scratch: &sortScratch)
        var unique = 0
        for id in sortedIds where unique == 0 || sortedIds[unique - 1] != id {
            precondition(Int(id) < table.rows, "bank update of item \(id) outside 0..<\(table.rows)")
            sortedIds[unique] = id
            unique += 1
        }
        sortedIds.removeLast(sortedIds.count - unique)

        let d = table.dim, m = momentum
        // Every row of the delta is written before it is read: no zero-filling. Four rows at a time, so that their
        // norms are summed side by side (each in column order, as `normalizeRows` does).
        let delta = [Float](unsafeUninitializedCapacity: unique * d) { out, count in
            let deltaRows = out.baseAddress!
            itemTable.withUnsafeValues { items in
                table.withUnsafeMutableValues { bank in
                    var k = 0
                    while k < unique {
                        let group = Swift.min(4, unique - k)
                        for i in stride(from: k + prefetchDistance, to: Swift.min(k + prefetchDistance + group, unique), by: 1) {
                            let id = Int(self.sortedIds[i]) * d   // random rows: ask for them early
                            prefetchRow(items.baseAddress! + id, count: d)
                            prefetchRowForWriting(bank.baseAddress! + id, count: d)
                        }
                        let item = { (i: Int) in items.baseAddress! + Int(self.sortedIds[k + Swift.min(i, group - 1)]) * d }
                        let newRow = { (i: Int) in deltaRows + (k + Swift.min(i, group - 1)) * d }
                        // newRow ← m·row + (1−m)·normalize(v)
                        let itemSquares = rowDotProducts(item(0), item(0), item(1), item(1), item(2), item(2),
                                                         item(3), item(3), count: d)
                        for i in 0 ..< group {
                            let v = item(i), row = bank.baseAddress! + Int(self.sortedIds[k + i]) * d, out = newRow(i)
                            let inv = 1 / Swift.max(itemSquares[i].squareRoot(), rowNormFloor)
                            for j in 0 ..< d { out[j] = m * row[j] + (1 - m) * (v[j] * inv) }
                        }
                        // newRow ← normalize(newRow); row ← newRow
                        let newSquares = rowDotProducts(newRow(0), newRow(0), newRow(1), newRow(1), newRow(2),
                                                        newRow(2), newRow(3), newRow(3), count: d)
                        for i in 0 ..< group {
                            let row = bank.baseAddress! + Int(self.sortedIds[k + i]) * d, out = newRow(i)
                            let inv = 1 / Swift.max(newSquares[i].squareRoot(), rowNormFloor)
                            for j in 0 ..< d {
                                out[j] *= inv
                                row[j] = out[j]
                            }
                        }
                        k += group
                    }
                }
            }
            count = unique * d
        }
        version = newVersion
        return SparseRows(dim: d, ids: sortedIds, values: delta)
    }
}
