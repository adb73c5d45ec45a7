import Kernels

/// The top items of given users, ranked exactly as `RankingEvaluator` ranks them: the same normalisation for cosine,
/// the same `BLAS.sgemm` of a block of users against every item, excluded items at -inf, and the same selection
/// (higher score first; among equal scores the lower item id). `coordinator recommend` uses it, so that what it
/// prints is what the evaluation scored.
public enum ItemRanking {
    public struct Ranked: Sendable, Equatable {
        /// Dense item id.
        public var item: UInt32
        /// The similarity: cosine of the user and item rows with `cosine`, else their dot product.
        public var score: Float
    }

    /// For each of `users` (dense ids), its best min(k, items not excluded) items, best first. `userTable`
    /// (users, d) and `itemTable` (items, d); `excluded[u]` is left out of user u's ranking.
    public static func top(k: Int, users: [UInt32], userTable: EmbeddingTable, itemTable: EmbeddingTable,
                           cosine: Bool, excluded: ItemsByUser, blockSize: Int = 256) -> [[Ranked]] {
        precondition(k > 0, "ItemRanking needs k > 0, got \(k)")
        precondition(userTable.dim == itemTable.dim, "user dim \(userTable.dim) ≠ item dim \(itemTable.dim)")
        precondition(excluded.userCount == userTable.rows, "exclusions for \(excluded.userCount) users, table of \(userTable.rows)")
        let d = userTable.dim, n = itemTable.rows
        guard !users.isEmpty, n > 0 else { return users.map { _ in [] } }
        // itemMatrix (n, d)
        let itemMatrix = cosine ? RankingEvaluator.normalizedRows(itemTable.values, dim: d) : itemTable.values
        let userValues = userTable.values
        let block = min(blockSize, users.count)
        // userBlock (block, d), scores (block, n)
        var userBlock = [Float](repeating: 0, count: block * d)
        var scores = [Float](repeating: 0, count: block * n)
        var selection = TopKSelection(k: min(k, n))
        var out: [[Ranked]] = []
        out.reserveCapacity(users.count)
        var start = 0
        while start < users.count {
            let rows = min(block, users.count - start)
            let slice = users[start ..< start + rows]
            precondition(slice.allSatisfy { Int($0) < userTable.rows }, "a user beyond a table of \(userTable.rows)")
            RankingEvaluator.scoreBlock(slice, userValues: userValues, dim: d, cosine: cosine, itemMatrix: itemMatrix,
                                        items: n, userBlock: &userBlock, scores: &scores)
            scores.withUnsafeMutableBufferPointer { buffer in
                for r in 0 ..< rows {
                    let row = buffer.baseAddress! + r * n
                    for item in excluded[Int(users[start + r])] { row[Int(item)] = -.infinity }
                    selection.select(row, count: n)
                    out.append(selection.ranked().map { Ranked(item: $0, score: row[Int($0)]) })
                }
            }
            start += rows
        }
        return out
    }
}
