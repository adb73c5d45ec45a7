import Kernels
import MemoryBank
import Wire

/// A worker's copy of the parameters and the bank, kept bit-identical to the coordinator's by snapshots and deltas.
public final class Replica {
    public let users: EmbeddingTable
    public let items: EmbeddingTable
    public let bank: MemoryBank
    /// The version held; nil until a snapshot has been loaded completely.
    public private(set) var version: UInt64?
    /// The snapshot being loaded: its version, the chunks received by index (table, first row, row count), and
    /// how many it has.
    private var loading: (version: UInt64, received: [Int: ChunkRows], count: Int)?

    struct ChunkRows: Equatable {
        let table: SnapshotTable
        let rows: Range<Int>
    }

    public init(userCount: Int, itemCount: Int, dim: Int, momentum: Float = 0.5) {
        users = EmbeddingTable(rows: userCount, dim: dim)
        items = EmbeddingTable(rows: itemCount, dim: dim)
        bank = MemoryBank(table: EmbeddingTable(rows: itemCount, dim: dim), momentum: momentum, version: 0)
    }

    public enum SnapshotProgress: Equatable, Sendable {
        case incomplete(received: Int, of: Int)
        case complete(version: UInt64)
    }

    public enum ReplicaError: Error, Equatable, CustomStringConvertible {
        case shapeMismatch(String)
        /// The chunks of a snapshot do not cover each table exactly once.
        case incomplete(String)
        public var description: String {
            switch self {
            case let .shapeMismatch(what): "snapshot does not fit the replica: \(what)"
            case let .incomplete(what): "snapshot does not cover the tables: \(what)"
            }
        }
    }

    /// Stores one SNAPSHOT chunk. A chunk of a newer version restarts the load; an older one is ignored.
    public func receive(_ chunk: SnapshotChunk) throws -> SnapshotProgress {
        let table: EmbeddingTable = switch chunk.table {
        case .users: users
        case .items: items
        case .bank: bank.table
        }
        let first = Int(chunk.firstRow), count = Int(chunk.rowCount)
        guard Int(chunk.dim) == table.dim, first <= table.rows, count <= table.rows - first,
              chunk.values.count == count * table.dim else {
            throw ReplicaError.shapeMismatch(
                "table \(chunk.table) rows \(first) + \(count) dim \(chunk.dim) for \(table.rows)×\(table.dim)")
        }
        if loading == nil || loading!.version < chunk.version {
            loading = (chunk.version, [:], chunk.chunkCount)
            version = nil
        }
        guard var progress = loading, progress.version == chunk.version else {
            return .incomplete(received: loading?.received.count ?? 0, of: Int(loading?.count ?? 0))
        }
        let rows = ChunkRows(table: chunk.table, rows: first ..< first + count)
        // A chunk that disagrees with those before it is refused; the load in progress keeps what it has.
        guard chunk.chunkCount == progress.count, progress.received[chunk.chunkIndex].map({ $0 == rows }) ?? true else {
            throw ReplicaError.incomplete("chunk \(chunk.chunkIndex) of \(chunk.chunkCount) disagrees with the chunks before it")
        }
        table.withUnsafeMutableValues { dst in
            chunk.values.withUnsafeBufferPointer { src in
                (dst.baseAddress! + first * table.dim).update(from: src.baseAddress!, count: src.count)
            }
        }
        progress.received[chunk.chunkIndex] = rows
        loading = progress
        if progress.received.count == Int(progress.count) {
            loading = nil
            try checkCoverage(Array(progress.received.values))
            version = progress.version
            bank.loaded(version: progress.version)
            return .complete(version: progress.version)
        }
        return .incomplete(received: progress.received.count, of: Int(progress.count))
    }

    /// Every table tiled exactly by the chunks' rows: no row missing, none twice.
    private func checkCoverage(_ chunks: [ChunkRows]) throws {
        for (name, rows) in [(SnapshotTable.users, users.rows), (.items, items.rows), (.bank, bank.table.rows)] {
            var next = 0
            for range in chunks.filter({ $0.table == name }).map(\.rows).sorted(by: { $0.lowerBound < $1.lowerBound }) {
                guard range.lowerBound == next else {
                    throw ReplicaError.incomplete("\(name) rows \(next)..<\(range.lowerBound) \(range.lowerBound > next ? "missing" : "sent twice")")
                }
                next = range.upperBound
            }
            guard next == rows else { throw ReplicaError.incomplete("\(name) rows \(next)..<\(rows) missing") }
        }
    }

    /// Applies a STEP's delta. Precondition: the replica holds `baseVersion`.
    public func apply(baseVersion: UInt64, version newVersion: UInt64, users u: RowBlock, items i: RowBlock,
                      bank b: RowBlock) {
        precondition(version == baseVersion, "delta from \(baseVersion) applied to a replica at \(String(describing: version))")
        users.scatter(SparseRows(u))
        items.scatter(SparseRows(i))
        bank.apply(delta: SparseRows(b), baseVersion: baseVersion, newVersion: newVersion)
        version = newVersion
    }

    /// Forgets the state (after a RESET for a new run).
    public func invalidate() {
        version = nil
        loading = nil
    }

    public func contentHash() -> UInt64 {
        ReplicaHash.of(users: users, items: items, bank: bank.table)
    }
}
