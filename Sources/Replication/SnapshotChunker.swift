import Kernels
import Wire

/// Cuts the full state into SNAPSHOT messages of bounded size.
public enum SnapshotChunker {
    /// Chunks at `version`, at most `maxBytes` of float values each (at least one row per chunk), users then
    /// items then bank. chunkIndex counts over all tables; chunkCount is the total.
    public static func chunks(version: UInt64, users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable,
                              maxBytes: Int = 4 << 20) -> [SnapshotChunk] {
        let tables: [(SnapshotTable, EmbeddingTable)] = [(.users, users), (.items, items), (.bank, bank)]
        var pieces: [(SnapshotTable, EmbeddingTable, Range<Int>)] = []
        for (name, table) in tables {
            let rowsPerChunk = max(1, maxBytes / (table.dim * 4))
            var start = 0
            repeat {
                let end = min(table.rows, start + rowsPerChunk)
                pieces.append((name, table, start ..< end))
                start = end
            } while start < table.rows
        }
        return pieces.enumerated().map { index, piece in
            let (name, table, range) = piece
            return SnapshotChunk(version: version, table: name, firstRow: range.lowerBound,
                                 rowCount: range.count, chunkIndex: index, chunkCount: pieces.count, dim: table.dim,
                                 values: table.withUnsafeValues {
                                     Array($0[range.lowerBound * table.dim ..< range.upperBound * table.dim])
                                 })
        }
    }
}
