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
            for r in 0 ..< rows {
                let u = Int(users[start + r])
                precondition(u < userTable.rows, "user \(u) of a table of \(userTable.rows)")
                let source = userValues[u * d ..< (u + 1) * d]
                let norm: Float = cosine ? RankingEvaluator.inverseNorm(source) : 1
                for j in 0 ..< d { userBlock[r * d + j] = source[source.startIndex + j] * norm }
            }
            userBlock.withUnsafeBufferPointer { a in
                itemMatrix.withUnsafeBufferPointer { b in
                    scores.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(.none, .transpose, m: rows, n: n, k: d, alpha: 1,
                                   a: a.baseAddress!, lda: d, b: b.baseAddress!, ldb: d,
                                   beta: 0, c: c.baseAddress!, ldc: n)
                    }
                }
            }
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
