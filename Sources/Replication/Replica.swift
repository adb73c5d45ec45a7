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
    private var loading: (version: UInt64, received: Set<Int>, count: Int)?

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
        public var description: String {
            switch self { case let .shapeMismatch(what): "snapshot does not fit the replica: \(what)" }
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
        guard Int(chunk.dim) == table.dim, first + count <= table.rows, chunk.values.count == count * table.dim else {
            throw ReplicaError.shapeMismatch(
                "table \(chunk.table) rows \(first)..<\(first + count) dim \(chunk.dim) for \(table.rows)×\(table.dim)")
        }
        if loading == nil || loading!.version < chunk.version {
            loading = (chunk.version, [], chunk.chunkCount)
            version = nil
        }
        guard var progress = loading, progress.version == chunk.version else {
            return .incomplete(received: loading?.received.count ?? 0, of: Int(loading?.count ?? 0))
        }
        // Counting chunks of different totals would let a stray index stand in for a missing chunk.
        guard chunk.chunkCount == progress.count else {
            throw ReplicaError.shapeMismatch("chunk \(chunk.chunkIndex) of \(chunk.chunkCount) in a snapshot at version "
                + "\(chunk.version) of \(progress.count) chunks")
        }
        table.withUnsafeMutableValues { dst in
            chunk.values.withUnsafeBufferPointer { src in
                (dst.baseAddress! + first * table.dim).update(from: src.baseAddress!, count: src.count)
            }
        }
        progress.received.insert(chunk.chunkIndex)
        loading = progress
        if progress.received.count == Int(progress.count) {
            loading = nil
            version = progress.version
            bank.loaded(version: progress.version)
            return .complete(version: progress.version)
        }
        return .incomplete(received: progress.received.count, of: Int(progress.count))
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
