import Kernels
import Wire

/// Small tables with distinct, reproducible values for the replication tests.
enum ReplicationFixtures {
    static func table(rows: Int, dim: Int, seed: UInt64) -> EmbeddingTable {
        var random = SeededRandom(seed: seed)
        return EmbeddingTable(rows: rows, dim: dim, normalStd: 1, random: &random)
    }

    /// users (userCount, dim), items and bank (itemCount, dim), all different.
    static func tables(users userCount: Int, items itemCount: Int, dim: Int)
        -> (users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) {
        (table(rows: userCount, dim: dim, seed: 1), table(rows: itemCount, dim: dim, seed: 2),
         table(rows: itemCount, dim: dim, seed: 3))
    }
}
