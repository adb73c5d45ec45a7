import Kernels
import Wire

/// The hashes that coordinator and workers compare: of the whole state (the `end` event's `final_hash`, equal
/// across runs that must end bit-identical), and of the rows a STEP carried (`--verify-replicas`: the worker's hash
/// of the rows it computed from against the coordinator's of the rows it sent).
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

    /// The hash of a STEP's three row blocks (ids and values).
    public static func of(step: Step) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for block in [step.users, step.items, step.bank] {
            h = block.ids.withUnsafeBytes { StateHash.fnv1a($0, seed: h) }
            h = block.values.withUnsafeBytes { StateHash.fnv1a($0, seed: h) }
        }
        return h == 0 ? 1 : h
    }
}
