import Dataset
import Foundation
import Kernels
import XCTest

final class RankingEvaluatorTests: XCTestCase {
    /// Three users, five items, d = 2. Scores (user · item):
    ///   user 0 (1, 0.5): i0 1, i1 0.5, i2 2, i3 1.5, i4 1.5; train {2}; test {4, 1}
    ///   user 1 (0, 1):   i0 0, i1 1,   i2 0, i3 3,   i4 1;   train {3}; test {0}
    ///   user 2 (5, 5):   train {0}; no test items, so not evaluated.
    private func tiny() -> (InteractionData, EmbeddingTable, EmbeddingTable) {
        let data = InteractionData(name: "tiny", userCount: 3, itemCount: 5,
                                   trainUsers: [0, 1, 2], trainItems: [2, 3, 0], testItems: [[4, 1], [0], []])
        let users = EmbeddingTable(rows: 3, dim: 2, values: [1, 0.5, 0, 1, 5, 5])
        let items = EmbeddingTable(rows: 5, dim: 2, values: [1, 0, 0, 1, 2, 0, 0, 3, 1, 1])
        return (data, users, items)
    }

    func testHandComputedExample() {
        let (data, users, items) = tiny()
        let metrics = RankingEvaluator(data: data, ks: [3, 1, 2]).evaluate(users: users, items: items, cosine: false)
        // User 0 ranks i3, i4 (tie at 1.5: lower id first), i0, i1 once i2 is excluded: hit at rank 2.
        // User 1 ranks i1, i4 (tie at 1), i0, i2 once i3 is excluded: hit at rank 3.
        let d2 = 1 / log2(3.0)                  // discount at rank 2
        let user0NDCG = d2 / (1 + d2)           // IDCG over min(2 relevant, k) = 2 positions
        XCTAssertEqual(metrics.map(\.k), [1, 2, 3])
        XCTAssertEqual(metrics.map(\.users), [2, 2, 2])
        XCTAssertEqual(metrics[0].recall, 0, accuracy: 1e-12)
        XCTAssertEqual(metrics[0].ndcg, 0, accuracy: 1e-12)
        XCTAssertEqual(metrics[1].recall, (0.5 + 0) / 2, accuracy: 1e-12)
        XCTAssertEqual(metrics[1].ndcg, (user0NDCG + 0) / 2, accuracy: 1e-12)
        XCTAssertEqual(metrics[2].recall, (0.5 + 1) / 2, accuracy: 1e-12)
        XCTAssertEqual(metrics[2].ndcg, (user0NDCG + 0.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(metrics[2].ndcg, 0.4434264037, accuracy: 1e-9)
    }

    func testTrainingItemsAreExcluded() {
        let (data, users, items) = tiny()
        // Make user 1's training item i3 also a test item: it would be ranked first, but is excluded, so never hit.
        var overlapping = data
        overlapping.testItems[1] = [3]
        let metrics = RankingEvaluator(data: overlapping, ks: [5]).evaluate(users: users, items: items, cosine: false)
        XCTAssertEqual(metrics[0].recall, (1 + 0) / 2, accuracy: 1e-12)
        // Without the training pair, i3 is user 1's top item.
        let free = InteractionData(name: "free", userCount: 3, itemCount: 5, trainUsers: [0], trainItems: [2],
                                   testItems: [[], [3], []])
        let top1 = RankingEvaluator(data: free, ks: [1]).evaluate(users: users, items: items, cosine: false)[0]
        XCTAssertEqual(top1.recall, 1)
        XCTAssertEqual(top1.ndcg, 1)
        XCTAssertEqual(top1.users, 1)
    }

    func testValidationTarget() {
        let (base, users, items) = tiny()
        var data = base
        data.validationItems = [[3], [], []]
        // Test: i3 is now excluded for user 0 as well, so the ranking is i4, i0, i1: hit at rank 1.
        let test = RankingEvaluator(data: data, ks: [1], target: .test).evaluate(users: users, items: items, cosine: false)[0]
        XCTAssertEqual(test.recall, (0.5 + 0) / 2, accuracy: 1e-12)
        XCTAssertEqual(test.ndcg, (1 + 0) / 2, accuracy: 1e-12, "IDCG@1 is over min(2, 1) = 1 position")
        // Validation: only user 0 has a validation item; training excluded, test items stay: i3 ranks first.
        let validation = RankingEvaluator(data: data, ks: [1], target: .validation)
            .evaluate(users: users, items: items, cosine: false)[0]
        XCTAssertEqual(validation, RankingMetrics(k: 1, recall: 1, ndcg: 1, users: 1))
    }

    func testTiesRankLowerIdsFirstAndNoRelevantUsersGiveZero() {
        let (data, _, _) = tiny()
        let zeros = RankingEvaluator(data: data, ks: [1, 2]).evaluate(
            users: EmbeddingTable(rows: 3, dim: 2), items: EmbeddingTable(rows: 5, dim: 2), cosine: false)
        // All scores tie: user 0 ranks i0, i1 (hit), ...; user 1 ranks i0 (hit), ...
        XCTAssertEqual(zeros[0].recall, (0 + 1) / 2, accuracy: 1e-12)
        XCTAssertEqual(zeros[1].recall, (0.5 + 1) / 2, accuracy: 1e-12)
        let none = InteractionData(name: "none", userCount: 3, itemCount: 5, trainUsers: [0], trainItems: [1],
                                   testItems: [[], [], []])
        XCTAssertEqual(RankingEvaluator(data: none).evaluate(users: tiny().1, items: tiny().2, cosine: false),
                       [RankingMetrics(k: 20, recall: 0, ndcg: 0, users: 0)])
    }

    /// On random data with integer embeddings (so every score is exact and ties are common), the blocked, threaded
    /// evaluator agrees with a naive sort of every item, whatever the block size and thread count.
    func testAgreesWithNaiveImplementation() {
        var random = SeededRandom(seed: 11)
        let userCount = 97, itemCount = 61, dim = 4
        var trainUsers = [UInt32](), trainItems = [UInt32]()
        var testItems = [[UInt32]](repeating: [], count: userCount)
        var validationItems = [[UInt32]](repeating: [], count: userCount)
        for u in 0 ..< userCount {
            for _ in 0 ..< random.nextInt(below: 15) { trainUsers.append(UInt32(u)); trainItems.append(UInt32(random.nextInt(below: itemCount))) }
            for _ in 0 ..< random.nextInt(below: 6) { testItems[u].append(UInt32(random.nextInt(below: itemCount))) }
            for _ in 0 ..< random.nextInt(below: 3) { validationItems[u].append(UInt32(random.nextInt(below: itemCount))) }
        }
        let data = InteractionData(name: "random", userCount: userCount, itemCount: itemCount, trainUsers: trainUsers,
                                   trainItems: trainItems, testItems: testItems, validationItems: validationItems)
        func integers(_ rows: Int) -> EmbeddingTable {
            EmbeddingTable(rows: rows, dim: dim, values: (0 ..< rows * dim).map { _ in Float(random.nextInt(below: 5) - 2) })
        }
        let users = integers(userCount), items = integers(itemCount)
        let ks = [1, 5, 10, 70]
        for target in [RankingEvaluator.Target.test, .validation] {
            let expected = naiveMetrics(data: data, users: users, items: items, ks: ks, target: target)
            XCTAssertGreaterThan(expected[1].recall, 0)
            for (block, threads) in [(256, 1), (1, 2), (7, 2), (32, 3)] {
                let got = RankingEvaluator(data: data, ks: ks, target: target, blockSize: block, threads: threads)
                    .evaluate(users: users, items: items, cosine: false)
                for (g, e) in zip(got, expected) {
                    XCTAssertEqual(g.k, e.k)
                    XCTAssertEqual(g.users, e.users)
                    XCTAssertEqual(g.recall, e.recall, accuracy: 1e-12, "\(target) k \(g.k) block \(block) threads \(threads)")
                    XCTAssertEqual(g.ndcg, e.ndcg, accuracy: 1e-12, "\(target) k \(g.k) block \(block) threads \(threads)")
                }
            }
        }
    }

    /// Cosine scores are dot products of unit rows, computed on copies.
    func testCosineNormalisesCopies() {
        var random = SeededRandom(seed: 5)
        let data = DatasetLoader.synthetic(SyntheticSpec(users: 200, items: 150, seed: 2))
        let users = EmbeddingTable(rows: 200, dim: 8, normalStd: 1, random: &random)
        let items = EmbeddingTable(rows: 150, dim: 8, normalStd: 1, random: &random)
        for i in 0 ..< 150 { items.setRow(i, items.row(i).map { $0 * Float(1 + i % 7) }) }  // norms that matter for dot
        let before = (users.values, items.values)
        let evaluator = RankingEvaluator(data: data, ks: [10, 20])
        let cosine = evaluator.evaluate(users: users, items: items, cosine: true)
        XCTAssertEqual(users.values, before.0)
        XCTAssertEqual(items.values, before.1)
        func unit(_ table: EmbeddingTable) -> EmbeddingTable {
            var values = table.values
            for r in 0 ..< table.rows {
                var sum: Float = 0
                for v in table.row(r) { sum += v * v }
                let scale = 1 / sum.squareRoot()
                for j in r * table.dim ..< (r + 1) * table.dim { values[j] *= scale }
            }
            return EmbeddingTable(rows: table.rows, dim: table.dim, values: values)
        }
        let normalisedDot = evaluator.evaluate(users: unit(users), items: unit(items), cosine: false)
        XCTAssertEqual(cosine, normalisedDot)
        XCTAssertNotEqual(cosine, evaluator.evaluate(users: users, items: items, cosine: false))
    }

    /// A larger random case (300 users × 500 items, d = 8) than `testAgreesWithNaiveImplementation`: many blocks
    /// per thread, users with long training lists, and cutoffs beyond the block size. Integer embeddings keep every
    /// score exact, so the comparison with the naive sort is exact too.
    func testLargerRandomCaseAgreesWithNaiveImplementation() {
        var random = SeededRandom(seed: 23)
        let userCount = 300, itemCount = 500, dim = 8
        var trainUsers = [UInt32](), trainItems = [UInt32]()
        var testItems = [[UInt32]](repeating: [], count: userCount)
        for u in 0 ..< userCount {
            for _ in 0 ..< random.nextInt(below: 60) { trainUsers.append(UInt32(u)); trainItems.append(UInt32(random.nextInt(below: itemCount))) }
            for _ in 0 ..< random.nextInt(below: 12) { testItems[u].append(UInt32(random.nextInt(below: itemCount))) }
        }
        let data = InteractionData(name: "random-300x500", userCount: userCount, itemCount: itemCount,
                                   trainUsers: trainUsers, trainItems: trainItems, testItems: testItems)
        func integers(_ rows: Int) -> EmbeddingTable {
            EmbeddingTable(rows: rows, dim: dim, values: (0 ..< rows * dim).map { _ in Float(random.nextInt(below: 7) - 3) })
        }
        let users = integers(userCount), items = integers(itemCount)
        let ks = [1, 10, 20, 100, 300]
        let expected = naiveMetrics(data: data, users: users, items: items, ks: ks, target: .test)
        XCTAssertGreaterThan(expected[0].users, 250, "most users have test items")
        XCTAssertGreaterThan(expected[2].recall, 0)
        for (block, threads) in [(64, 1), (37, 2), (500, 2)] {
            let got = RankingEvaluator(data: data, ks: ks, target: .test, blockSize: block, threads: threads)
                .evaluate(users: users, items: items, cosine: false)
            XCTAssertEqual(got.count, expected.count)
            for (g, e) in zip(got, expected) {
                XCTAssertEqual(g.k, e.k)
                XCTAssertEqual(g.users, e.users)
                XCTAssertEqual(g.recall, e.recall, accuracy: 1e-12, "k \(g.k) block \(block) threads \(threads)")
                XCTAssertEqual(g.ndcg, e.ndcg, accuracy: 1e-12, "k \(g.k) block \(block) threads \(threads)")
            }
        }
    }
}

/// Scores every item, drops excluded ones, sorts by (score descending, id ascending) and averages the metrics.
private func naiveMetrics(data: InteractionData, users: EmbeddingTable, items: EmbeddingTable, ks: [Int],
                          target: RankingEvaluator.Target) -> [RankingMetrics] {
    var recall = [Double](repeating: 0, count: ks.count), ndcg = recall
    var evaluated = 0
    for u in 0 ..< data.userCount {
        let relevant = Set(target == .test ? data.testItems[u] : data.validationItems[u])
        if relevant.isEmpty { continue }
        evaluated += 1
        var excluded = Set(zip(data.trainUsers, data.trainItems).filter { Int($0.0) == u }.map(\.1))
        if target == .test { excluded.formUnion(data.validationItems[u]) }
        var scored = [(score: Float, item: Int)]()
        for i in 0 ..< data.itemCount where !excluded.contains(UInt32(i)) {
            let userRow = Array(users.row(u)), itemRow = Array(items.row(i))
            var s: Float = 0
            for j in 0 ..< users.dim { s += userRow[j] * itemRow[j] }
            scored.append((s, i))
        }
        let ranked = scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.item < $1.item }
        for (c, k) in ks.enumerated() {
            let top = ranked.prefix(k)
            var hits = 0, dcg = 0.0
            for (r, entry) in top.enumerated() where relevant.contains(UInt32(entry.item)) {
                hits += 1
                dcg += 1 / log2(Double(r) + 2)
            }
            let idcg = (0 ..< min(relevant.count, k)).reduce(0.0) { $0 + 1 / log2(Double($1) + 2) }
            recall[c] += Double(hits) / Double(relevant.count)
            ndcg[c] += dcg / idcg
        }
    }
    return ks.indices.map { RankingMetrics(k: ks[$0], recall: recall[$0] / Double(evaluated), ndcg: ndcg[$0] / Double(evaluated), users: evaluated) }
}
