import Dispatch
import Foundation
import Kernels

/// Full-ranking evaluation: every item is scored for each evaluated user, the user's known items are excluded,
/// and Recall@K and NDCG@K are computed from the top K.
///
/// Evaluated users are those with at least one relevant item. For `.test` the relevant items are the test items and
/// the excluded ones are the training and validation items; for `.validation` the relevant items are the validation
/// items and only training items are excluded (test items stay in the ranking, as they are unknown at that point).
/// A relevant item that is also excluded can never be hit. Scores are computed by `BLAS.sgemm` in blocks of users
/// into a reused buffer (at most `maxScoreFloats` floats, whatever the catalogue); the top K per user comes from a
/// partial selection (ties: lower item id first).
///
/// With `sampleUsers` N (0 < N < the users that qualify), only a seeded sample of N of those users is evaluated:
/// the same N for the same data and seed. Its figures are those that the evaluation of exactly these users gives.
public final class RankingEvaluator: Sendable {
    public enum Target: Sendable { case test, validation }

    /// The cut-offs, ascending and distinct.
    public let ks: [Int]
    public let target: Target
    public let userCount: Int
    public let itemCount: Int
    /// The users evaluated, ascending: those with at least one relevant item, or the seeded sample of them.
    public let evaluatedUsers: [UInt32]
    /// The users with at least one relevant item (`evaluatedUsers.count` unless sampled).
    public let qualifyingUserCount: Int
    /// Whether `evaluatedUsers` is a sample of the qualifying users.
    public var isSampled: Bool { evaluatedUsers.count < qualifyingUserCount }
    /// The largest score buffer (users per block × items) in floats: 64 Mi floats, 256 MiB.
    public static let maxScoreFloats = 1 << 26
    /// Per user: the distinct relevant items.
    let relevant: ItemsByUser
    /// Per user: the items removed from the ranking.
    let excluded: ItemsByUser
    let blockSize: Int
    let threads: Int

    /// `blockSize` users are scored per sgemm (a `blockSize × items` float buffer, fewer users when that would pass
    /// `maxScoreFloats`); `threads` rank rows in parallel (default: the active processor count). `sampleUsers` > 0
    /// evaluates a sample of that many qualifying users drawn with `sampleSeed` (all of them when there are no more).
    public init(data: InteractionData, ks: [Int] = [20], target: Target = .test, sampleUsers: Int = 0,
                sampleSeed: UInt64 = 0, blockSize: Int = 256, threads: Int? = nil) {
        precondition(!ks.isEmpty && ks.allSatisfy { $0 > 0 }, "RankingEvaluator needs positive cut-offs, got \(ks)")
        precondition(blockSize > 0, "RankingEvaluator blockSize must be positive")
        precondition(sampleUsers >= 0, "RankingEvaluator sampleUsers must be 0 or more, got \(sampleUsers)")
        self.ks = Array(Set(ks)).sorted()
        self.target = target
        self.userCount = data.userCount
        self.itemCount = data.itemCount
        self.blockSize = blockSize
        self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)

        let relevantLists = target == .test ? data.testItems : data.validationItems
        var qualifying = [UInt32]()
        for u in 0 ..< data.userCount where !relevantLists[u].isEmpty { qualifying.append(UInt32(u)) }
        qualifyingUserCount = qualifying.count
        let evaluated = sampleUsers > 0 && sampleUsers < qualifying.count
            ? Self.sample(sampleUsers, of: qualifying, seed: sampleSeed) : qualifying
        evaluatedUsers = evaluated
        // Relevant and excluded items are kept for the evaluated users only.
        var isEvaluated = [Bool](repeating: false, count: data.userCount)
        for u in evaluated { isEvaluated[Int(u)] = true }
        var seen = [Int32](repeating: -1, count: data.itemCount)
        var distinct = [[UInt32]](repeating: [], count: data.userCount)
        for user in evaluated {
            let u = Int(user)
            for item in relevantLists[u] where seen[Int(item)] != Int32(u) {
                seen[Int(item)] = Int32(u)
                distinct[u].append(item)
            }
        }
        relevant = ItemsByUser(distinct)

        var users = [UInt32](), items = [UInt32]()
        if evaluated.count == data.userCount {
            (users, items) = (data.trainUsers, data.trainItems)
        } else {
            for k in data.trainUsers.indices where isEvaluated[Int(data.trainUsers[k])] {
                users.append(data.trainUsers[k])
                items.append(data.trainItems[k])
            }
        }
        if target == .test {
            for user in evaluated {
                for item in data.validationItems[Int(user)] {
                    users.append(user)
                    items.append(item)
                }
            }
        }
        excluded = ItemsByUser(userCount: data.userCount, users: users, items: items)
    }

    /// `count` of `users` (count < users.count) drawn without replacement by a seeded partial Fisher–Yates
    /// shuffle, ascending.
    static func sample(_ count: Int, of users: [UInt32], seed: UInt64) -> [UInt32] {
        var random = SeededRandom(seed: seed, stream: 0x4556_414C)  // "EVAL"
        var pool = users
        for k in 0 ..< count { pool.swapAt(k, k + random.nextInt(below: pool.count - k)) }
        return pool[0 ..< count].sorted()
    }

    /// The rows of the evaluated users in `users` (userCount, d), in `evaluatedUsers` order: (evaluated, d), what
    /// `evaluate(evaluatedUserRows:items:cosine:)` takes.
    public func evaluatedRows(of users: EmbeddingTable) -> EmbeddingTable {
        precondition(users.rows == userCount, "RankingEvaluator: \(users.rows) user rows for \(userCount) users")
        return EmbeddingTable(rows: evaluatedUsers.count, dim: users.dim, values: users.rows(evaluatedUsers).values)
    }

    /// One `RankingMetrics` per cut-off, ascending. `users` (userCount, d) and `items` (itemCount, d) are used as
    /// they are for dot-product scores; with `cosine` their rows are normalised first (on copies).
    public func evaluate(users: EmbeddingTable, items: EmbeddingTable, cosine: Bool) -> [RankingMetrics] {
        precondition(users.rows == userCount, "RankingEvaluator: \(users.rows) user rows for \(userCount) users")
        return evaluate(userValues: users.values, userRows: evaluatedUsers, items: items, dim: users.dim, cosine: cosine)
    }

    /// The same figures from only the evaluated users' rows: `evaluatedUserRows` (evaluatedUsers.count, d), row p
    /// being user `evaluatedUsers[p]` (`evaluatedRows(of:)`).
    public func evaluate(evaluatedUserRows: EmbeddingTable, items: EmbeddingTable, cosine: Bool) -> [RankingMetrics] {
        precondition(evaluatedUserRows.rows == evaluatedUsers.count,
                     "RankingEvaluator: \(evaluatedUserRows.rows) rows for \(evaluatedUsers.count) evaluated users")
        return evaluate(userValues: evaluatedUserRows.values, userRows: (0 ..< UInt32(evaluatedUsers.count)).map { $0 },
                        items: items, dim: evaluatedUserRows.dim, cosine: cosine)
    }

    /// `userValues` holds evaluated user p's row at row `userRows[p]`.
    private func evaluate(userValues: [Float], userRows: [UInt32], items: EmbeddingTable, dim d: Int,
                          cosine: Bool) -> [RankingMetrics] {
        precondition(items.rows == itemCount, "RankingEvaluator: \(items.rows) item rows for \(itemCount) items")
        precondition(d == items.dim, "RankingEvaluator: user dim \(d) ≠ item dim \(items.dim)")
        let n = itemCount, e = evaluatedUsers.count
        let kMax = ks.last!
        // discount (kMax): 1 / log2(rank + 2) for 0-based rank; ideal (kMax + 1): ideal[m] = Σ_{r<m} discount[r].
        let discount = (0 ..< kMax).map { 1 / log2(Double($0) + 2) }
        let ideal = (0 ... kMax).map { m in discount[0 ..< m].reduce(0, +) }

        // itemMatrix (n, d)
        let itemMatrix = cosine ? Self.normalizedRows(items.values, dim: d) : items.values
        // recallPerUser, ndcgPerUser (e, ks.count): summed in user order at the end, whatever the threading.
        var recallPerUser = [Double](repeating: 0, count: e * ks.count)
        var ndcgPerUser = [Double](repeating: 0, count: e * ks.count)
        let block = min(blockSize, max(e, 1), max(1, Self.maxScoreFloats / max(n, 1)))
        // userBlock (block, d), scores (block, n)
        var userBlock = [Float](repeating: 0, count: block * d)
        var scores = [Float](repeating: 0, count: block * n)
        let lanes = min(threads, block)
        var selections = (0 ..< lanes).map { _ in TopKSelection(k: kMax) }
        var marks = [Int32](repeating: -1, count: lanes * n)

        var start = 0
        while start < e {
            let rows = min(block, e - start)
            Self.scoreBlock(userRows[start ..< start + rows], userValues: userValues, dim: d, cosine: cosine,
                            itemMatrix: itemMatrix, items: n, userBlock: &userBlock, scores: &scores)
            let blockStart = start
            scores.withUnsafeMutableBufferPointer { scoreBuffer in
                marks.withUnsafeMutableBufferPointer { markBuffer in
                    recallPerUser.withUnsafeMutableBufferPointer { recallBuffer in
                        ndcgPerUser.withUnsafeMutableBufferPointer { ndcgBuffer in
                            selections.withUnsafeMutableBufferPointer { selectionBuffer in
                                let lane = LaneBuffers(
                                    scores: scoreBuffer.baseAddress!, marks: markBuffer.baseAddress!,
                                    recall: recallBuffer.baseAddress!, ndcg: ndcgBuffer.baseAddress!,
                                    selections: selectionBuffer.baseAddress!)
                                let work = { @Sendable (l: Int) in
                                    // Lane l ranks rows l, l + lanes, ... with its own selection and marks.
                                    var r = l
                                    while r < rows {
                                        self.rank(row: lane.scores + r * n, position: blockStart + r,
                                                  selection: &lane.selections[l], marks: lane.marks + l * n,
                                                  discount: discount, ideal: ideal, recall: lane.recall, ndcg: lane.ndcg)
                                        r += lanes
                                    }
                                }
                                if lanes == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: lanes, execute: work) }
                            }
                        }
                    }
                }
            }
            start += rows
        }

        return ks.indices.map { c in
            var recall = 0.0, ndcg = 0.0
            for p in 0 ..< e {
                recall += recallPerUser[p * ks.count + c]
                ndcg += ndcgPerUser[p * ks.count + c]
            }
            let count = Double(max(e, 1))
            return RankingMetrics(k: ks[c], recall: recall / count, ndcg: ndcg / count, users: e)
        }
    }

    /// Ranks one score row (n) of the evaluated user at `position` and writes its per-cut-off recall and NDCG.
    private func rank(
        row: UnsafeMutablePointer<Float>, position p: Int, selection: inout TopKSelection,
        marks: UnsafeMutablePointer<Int32>, discount: [Double], ideal: [Double],
        recall: UnsafeMutablePointer<Double>, ndcg: UnsafeMutablePointer<Double>
    ) {
        let u = Int(evaluatedUsers[p])
        for item in excluded[u] { row[Int(item)] = -.infinity }
        let relevantItems = relevant[u]
        for item in relevantItems { marks[Int(item)] = Int32(p) }
        selection.select(row, count: itemCount)
        let top = selection.ranked()
        var hits = 0, dcg = 0.0
        var c = 0
        let out = p * ks.count
        func record(_ c: Int) {
            recall[out + c] = Double(hits) / Double(relevantItems.count)
            ndcg[out + c] = dcg / ideal[min(relevantItems.count, ks[c])]
        }
        for (r, item) in top.enumerated() {
            if marks[Int(item)] == Int32(p) {
                hits += 1
                dcg += discount[r]
            }
            while c < ks.count && ks[c] == r + 1 { record(c); c += 1 }
        }
        while c < ks.count { record(c); c += 1 }
    }

    /// Scores a block of users against every item: each user's row (scaled to unit length with `cosine`) into
    /// `userBlock` (users.count, d), then `scores` (users.count, n) = userBlock · itemMatrixᵀ. `itemMatrix` (n, d) is
    /// already normalised for cosine. The one scoring that evaluation and `ItemRanking` share.
    static func scoreBlock(_ users: ArraySlice<UInt32>, userValues: [Float], dim d: Int, cosine: Bool,
                           itemMatrix: [Float], items n: Int, userBlock: inout [Float], scores: inout [Float]) {
        let rows = users.count
        for (r, user) in users.enumerated() {
            let u = Int(user)
            let source = userValues[u * d ..< (u + 1) * d]
            let norm: Float = cosine ? inverseNorm(source) : 1
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
    }

    static func inverseNorm(_ row: ArraySlice<Float>) -> Float {
        var sum: Float = 0
        for v in row { sum += v * v }
        return sum > 0 ? 1 / sum.squareRoot() : 0
    }

    /// A copy of `values` (rows, dim) with every row scaled to unit length (zero rows stay zero).
    static func normalizedRows(_ values: [Float], dim: Int) -> [Float] {
        var out = values
        for r in 0 ..< values.count / dim {
            let scale = inverseNorm(values[r * dim ..< (r + 1) * dim])
            for j in r * dim ..< (r + 1) * dim { out[j] *= scale }
        }
        return out
    }
}

/// Raw views of one block's buffers for the ranking lanes. Safe to share because each lane writes only its own
/// rows of `scores`, its own `marks` and selection, and the recall / NDCG entries of its own users.
private struct LaneBuffers: @unchecked Sendable {
    let scores: UnsafeMutablePointer<Float>
    let marks: UnsafeMutablePointer<Int32>
    let recall: UnsafeMutablePointer<Double>
    let ndcg: UnsafeMutablePointer<Double>
    let selections: UnsafeMutablePointer<TopKSelection>
}
