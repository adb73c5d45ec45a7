/// Which table a snapshot chunk fills.
public enum SnapshotTable: UInt8, Sendable, CaseIterable {
    case users = 0
    case items = 1
    case bank = 2
}

/// One piece of a full copy of the coordinator's state at `version`: rows [firstRow, firstRow + rowCount) of
/// `table`. `chunkIndex` counts over all tables of the snapshot, 0 ..< chunkCount.
///
/// Wire form (SNAPSHOT): u64 version, u8 table, u32 firstRow, u32 rowCount, u32 chunkIndex, u32 chunkCount,
/// u32 dim, rowCount × dim × f32.
public struct SnapshotChunk: Equatable, Sendable {
    public var version: UInt64
    public var table: SnapshotTable
    public var firstRow: Int
    public var rowCount: Int
    public var chunkIndex: Int
    public var chunkCount: Int
    public var dim: Int
    /// values (rowCount, dim)
    public var values: [Float]

    public init(version: UInt64, table: SnapshotTable, firstRow: Int, rowCount: Int, chunkIndex: Int, chunkCount: Int, dim: Int, values: [Float]) {
        precondition(values.count == rowCount * dim, "SnapshotChunk: \(rowCount) rows × dim \(dim) != \(values.count) values")
        self.version = version
        self.table = table
        self.firstRow = firstRow
        self.rowCount = rowCount
        self.chunkIndex = chunkIndex
        self.chunkCount = chunkCount
        self.dim = dim
        self.values = values
    }
}

extension SnapshotChunk {
    func write(to w: inout ByteWriter) {
        precondition(values.count == rowCount * dim, "SnapshotChunk: \(rowCount) rows × dim \(dim) != \(values.count) values")
        w.u64(version)
        w.u8(table.rawValue)
        w.u32(firstRow, "snapshot firstRow")
        w.u32(rowCount, "snapshot rowCount")
        w.u32(chunkIndex, "snapshot chunkIndex")
        w.u32(chunkCount, "snapshot chunkCount")
        w.u32(dim, "snapshot dim")
        w.f32s(values)
    }

    static func read(from r: inout ByteReader) throws(WireError) -> SnapshotChunk {
        let version = try r.u64("snapshot version")
        let tableCode = try r.u8("snapshot table")
        guard let table = SnapshotTable(rawValue: tableCode) else { throw .invalid("snapshot table code \(tableCode)") }
        let firstRow = try r.count("snapshot firstRow")
        let rowCount = try r.count("snapshot rowCount")
        let chunkIndex = try r.count("snapshot chunkIndex")
        let chunkCount = try r.count("snapshot chunkCount")
        let dim = try r.count("snapshot dim")
        guard chunkIndex < chunkCount else { throw .invalid("snapshot chunk \(chunkIndex) of \(chunkCount)") }
        if rowCount > 0 && dim == 0 { throw .invalid("snapshot has \(rowCount) rows of dim 0") }
        let (valueCount, overflow) = rowCount.multipliedReportingOverflow(by: dim)
        guard !overflow else { throw .truncated(what: "snapshot values (\(rowCount) rows × dim \(dim))") }
        let values = try r.f32s(valueCount, "snapshot values (\(rowCount) rows × dim \(dim))")
        return SnapshotChunk(version: version, table: table, firstRow: firstRow, rowCount: rowCount,
                             chunkIndex: chunkIndex, chunkCount: chunkCount, dim: dim, values: values)
    }
}
