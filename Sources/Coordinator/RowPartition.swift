import Kernels

/// The rows of the tables split over `count` shards by id: row r (of the user table, or of the item table with its
/// bank row and optimizer state) belongs to shard r % count, where it is local row r / count. Ids taken modulo spread
/// the popular items (often low ids) over the shards evenly.
public struct RowPartition: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole table in one process.
    public static let whole = RowPartition(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "shard \(index) of \(count)")
        self.index = index
        self.count = count
    }

    public var description: String { "shard \(index + 1) of \(count)" }

    @inline(__always)
    public func owns(_ id: UInt32) -> Bool { Int(id) % count == index }

    /// The local row of an owned global id.
    @inline(__always)
    public func local(_ id: UInt32) -> UInt32 { id / UInt32(count) }

    /// The global id of local row `row`.
    @inline(__always)
    public func global(_ row: Int) -> UInt32 { UInt32(row * count + index) }

    /// How many of a table's `total` rows this shard holds.
    public func rows(of total: Int) -> Int { total > index ? (total - index + count - 1) / count : 0 }

    /// Rows with local ids (ascending) given back their global ids (still ascending).
    public func globalRows(_ rows: SparseRows) -> SparseRows {
        if count == 1 { return rows }
        var out = rows
        out.ids = rows.ids.map { global(Int($0)) }
        return out
    }
}
