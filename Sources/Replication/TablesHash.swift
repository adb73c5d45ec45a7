import Kernels
import Wire

/// The hashes that coordinator and workers compare: of the whole state (the `end` event's `final_hash`, equal
/// across runs that must end bit-identical), and of the rows a task read from its STEP (`--verify-replicas`: the
/// worker's hash of the rows it computed from against the coordinator's of the rows it sent).
public enum TablesHash {
    public static func of(users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) -> UInt64 {
        var h = users.contentHash(seed: seed)
        h = items.contentHash(seed: h)
        h = bank.contentHash(seed: h)
        return finished(h)
    }

    /// Where the running hash of the tables' bytes (users, items, bank, in order) starts.
    public static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The state hash from the running hash of all its bytes: 0 is kept for "not computed" on the wire.
    public static func finished(_ h: UInt64) -> UInt64 { h == 0 ? 1 : h }

    /// The hash of the rows that a task reads (`reads`), as `step` carries them: for users, items and bank in turn,
    /// the ids read (ascending) and then their values, as raw little-endian bytes through `StateHash.fnv1a` from
    /// `seed`. It depends only on those rows, not on which other tasks shared the STEP. Nil when the STEP lacks one
    /// of them (or its ids are out of order).
    public static func of(reads: TaskReads, in step: Step) -> UInt64? {
        var h = seed
        for (ids, block) in [(reads.users, step.users), (reads.items, step.items), (reads.bank, step.bank)] {
            var values: [Float] = []
            values.reserveCapacity(ids.count * block.dim)
            var k = 0
            for id in ids {
                while k < block.ids.count, block.ids[k] < id { k += 1 }
                guard k < block.ids.count, block.ids[k] == id else { return nil }
                values.append(contentsOf: block.values[k * block.dim ..< (k + 1) * block.dim])
            }
            h = ids.withUnsafeBytes { StateHash.fnv1a($0, seed: h) }
            h = values.withUnsafeBytes { StateHash.fnv1a($0, seed: h) }
        }
        return finished(h)
    }
}
