import Kernels

/// The hash that coordinator and workers compare to prove their replicas are bit-identical.
public enum ReplicaHash {
    public static func of(users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) -> UInt64 {
        var h = users.contentHash()
        h = items.contentHash(seed: h)
        h = bank.contentHash(seed: h)
        return h == 0 ? 1 : h   // 0 on the wire means "not computed"
    }
}
