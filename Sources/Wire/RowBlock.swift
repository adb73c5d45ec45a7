/// Sparse table rows on the wire: row ids and their values (ids.count, dim), row-major.
///
/// Wire form ("rows block"): u32 count, u32 dim, count × u32 ids, count × dim × f32 values.
public struct RowBlock: Equatable, Sendable {
    public var dim: Int
    public var ids: [UInt32]
    /// values (ids.count, dim)
    public var values: [Float]

    public init(dim: Int, ids: [UInt32] = [], values: [Float] = []) {
        precondition(dim >= 0 && values.count == ids.count * dim, "RowBlock: \(ids.count) ids × dim \(dim) != \(values.count) values")
        self.dim = dim
        self.ids = ids
        self.values = values
    }

    /// No rows, of the given width.
    public static func empty(dim: Int) -> RowBlock { RowBlock(dim: dim) }

    public var count: Int { ids.count }
    public var isEmpty: Bool { ids.isEmpty }

    /// Checks what the wire cannot know, before a receiver uses the block: the block (an empty one too) has width `dim`,
    /// every id is below `rowLimit` and appears once, and every value is finite with magnitude at most `maxAbs`.
    /// `what` names the block in the refusal (`gradient users`, `step bankDelta`).
    public func validate(rowLimit: Int, dim expectedDim: Int, _ what: String,
                         maxAbs: Float = .greatestFiniteMagnitude) throws(Refusal) {
        let key = String(what.map { $0 == " " ? "_" : $0 })
        // An empty block too: a receiver scatters and sums blocks by their dim.
        guard dim == expectedDim else { throw .invalid("\(key)_dim", "\(what) has dim \(dim), expected \(expectedDim)") }
        if ids.isEmpty { return }
        if let bad = ids.first(where: { Int($0) >= rowLimit }) {
            throw .invalid("\(key)_row_range", "\(what) row id \(bad) is not below \(rowLimit)")
        }
        if let repeated = Self.firstRepeat(ids) {
            throw .invalid("\(key)_duplicate_row", "\(what) lists row \(repeated) more than once")
        }
        if let index = MagnitudeScan.firstOutOfRange(values, maxAbs: maxAbs) {
            let value = values[index]
            throw value.isFinite
                ? .invalid("\(key)_too_large", "\(what) row \(ids[index / dim]) holds \(value), beyond ±\(maxAbs)")
                : .invalid("\(key)_not_finite", "\(what) row \(ids[index / dim]) holds \(value)")
        }
    }

    /// The first id that occurs twice, or nil.
    static func firstRepeat(_ ids: [UInt32]) -> UInt32? {
        // Senders list rows in ascending order: one comparison per id then, the set only for other orders.
        if ids.isStrictlyAscending { return nil }
        var seen = Set<UInt32>(minimumCapacity: ids.count)
        for id in ids where !seen.insert(id).inserted { return id }
        return nil
    }
}

extension RowBlock {
    func write(to w: inout ByteWriter) {
        precondition(values.count == ids.count * dim, "RowBlock: \(ids.count) ids × dim \(dim) != \(values.count) values")
        w.u32(ids.count, "row count")
        w.u32(dim, "row dim")
        w.u32s(ids)
        w.f32s(values)
    }

    static func read(from r: inout ByteReader, _ what: String) throws(WireError) -> RowBlock {
        let count = try r.count("\(what) count")
        let dim = try r.count("\(what) dim")
        if count > 0 && dim == 0 { throw .invalid("\(what) has \(count) rows of dim 0") }
        // Check the whole block against the remaining bytes before allocating either array.
        let (valueCount, overflow) = count.multipliedReportingOverflow(by: dim)
        let (perRow, overflow2) = (dim + 1).multipliedReportingOverflow(by: 4)
        let (total, overflow3) = count.multipliedReportingOverflow(by: perRow)
        guard !overflow, !overflow2, !overflow3, total <= r.remaining else { throw .truncated(what: "\(what) (\(count) rows × dim \(dim))") }
        let ids = try r.u32s(count, "\(what) ids")
        let values = try r.f32s(valueCount, "\(what) values")
        return RowBlock(dim: dim, ids: ids, values: values)
    }
}

extension Array where Element == UInt32 {
    /// Whether every id is below the next: the order senders list rows in, which the id checks walk in one pass.
    public var isStrictlyAscending: Bool { zip(self, dropFirst()).allSatisfy { $0 < $1 } }
}
