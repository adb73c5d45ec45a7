import Kernels
import Wire

/// The three replicated tables, numbered as on the wire.
public enum ReplicatedTable: UInt8, Sendable, CaseIterable {
    case users = 0, items = 1, bank = 2
}

/// Cuts the full state into SNAPSHOT messages of bounded size.
public enum SnapshotChunker {
    /// Chunks at `version`, at most `maxBytes` of float values each (at least one row per chunk), users then
    /// items then bank. chunkIndex counts over all tables; chunkCount is the total.
    public static func chunks(version: UInt64, users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable,
                              maxBytes: Int = 4 << 20) -> [SnapshotChunk] {
        let tables: [(ReplicatedTable, EmbeddingTable)] = [(.users, users), (.items, items), (.bank, bank)]
        var pieces: [(ReplicatedTable, EmbeddingTable, Range<Int>)] = []
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
            return SnapshotChunk(version: version, table: name.rawValue, firstRow: UInt32(range.lowerBound),
                                 rowCount: UInt32(range.count), chunkIndex: UInt32(index),
                                 chunkCount: UInt32(pieces.count), dim: UInt32(table.dim),
                                 values: Array(table.values[range.lowerBound * table.dim ..< range.upperBound * table.dim]))
        }
    }
}
