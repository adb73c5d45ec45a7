import Dataset
import Kernels
import XCTest

final class SyntheticSpecTests: XCTestCase {
    func testShapeOfTheDefaultDataset() {
        let spec = SyntheticSpec()
        let data = DatasetLoader.synthetic(spec)
        XCTAssertEqual(data.name, "synthetic")
        XCTAssertEqual(data.userCount, 2000)
        XCTAssertEqual(data.itemCount, 1000)
        XCTAssertEqual(data.trainCount, 2000 * 20)
        XCTAssertTrue(data.testItems.allSatisfy { $0.count == 2 })
        let byUser = data.trainItemsByUser()
        for u in 0 ..< data.userCount {
            let train = Array(byUser[u])
            XCTAssertEqual(Set(train).count, 20, "user \(u) has distinct training items")
            XCTAssertTrue(Set(train).isDisjoint(with: data.testItems[u]), "user \(u)")
            XCTAssertEqual(Set(data.testItems[u]).count, 2)
        }
        XCTAssertEqual(data.trainUsers, (0 ..< 2000).flatMap { [UInt32](repeating: UInt32($0), count: 20) })
    }

    func testDeterministicPerSeed() {
        let spec = SyntheticSpec(users: 300, items: 200, seed: 5)
        XCTAssertEqual(DatasetLoader.synthetic(spec), DatasetLoader.synthetic(spec))
        var other = spec
        other.seed = 6
        XCTAssertNotEqual(DatasetLoader.synthetic(spec).trainItems, DatasetLoader.synthetic(other).trainItems)
    }

    func testPowerLawPopularity() {
        func topDecileShare(_ exponent: Double) -> Double {
            let data = DatasetLoader.synthetic(SyntheticSpec(popularityExponent: exponent))
            let counts = data.itemPopularity().sorted(by: >)
            return Double(counts.prefix(100).reduce(0, +)) / Double(data.trainCount)
        }
        let skewed = topDecileShare(1.0), flat = topDecileShare(0)
        XCTAssertGreaterThan(skewed, 0.35, "with exponent 1 the top 10 % of items take a large share")
        XCTAssertLessThan(flat, 0.2, "with exponent 0 popularity is near uniform")
    }

    func testSmallOrSteepSpecsStillFill() {
        let data = DatasetLoader.synthetic(SyntheticSpec(users: 20, items: 30, clusters: 30, interactionsPerUser: 25,
                                                         popularityExponent: 3, clusterAffinity: 1, testPerUser: 5))
        XCTAssertEqual(data.trainCount, 20 * 25)
        for u in 0 ..< 20 { XCTAssertEqual(Set(data.trainItemsByUser()[u]).union(data.testItems[u]).count, 30) }
    }

    /// The clusters carry signal: scoring items by co-occurrence with a user's training items (a one-step item-item
    /// model) beats scoring by popularity, which beats nothing.
    func testClustersAreLearnable() {
        let data = DatasetLoader.synthetic(SyntheticSpec())
        let n = data.itemCount, m = data.userCount
        // x (users, items): the training matrix; cooccurrence (items, items) = xᵀx.
        var x = [Float](repeating: 0, count: m * n)
        for k in 0 ..< data.trainCount { x[Int(data.trainUsers[k]) * n + Int(data.trainItems[k])] = 1 }
        var cooccurrence = [Float](repeating: 0, count: n * n)
        x.withUnsafeBufferPointer { a in
            cooccurrence.withUnsafeMutableBufferPointer { c in
                BLAS.sgemm(.transpose, .none, m: n, n: n, k: m, alpha: 1, a: a.baseAddress!, lda: n,
                           b: a.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
            }
        }
        let evaluator = RankingEvaluator(data: data, ks: [20])
        let itemBased = evaluator.evaluate(users: EmbeddingTable(rows: m, dim: n, values: x),
                                           items: EmbeddingTable(rows: n, dim: n, values: cooccurrence), cosine: false)[0]
        let popular = evaluator.evaluate(users: EmbeddingTable(rows: m, dim: 1, values: [Float](repeating: 1, count: m)),
                                         items: EmbeddingTable(rows: n, dim: 1, values: data.itemPopularity()), cosine: false)[0]
        var random = SeededRandom(seed: 9)
        let noise = evaluator.evaluate(users: EmbeddingTable(rows: m, dim: 8, normalStd: 1, random: &random),
                                       items: EmbeddingTable(rows: n, dim: 8, normalStd: 1, random: &random), cosine: false)[0]
        XCTAssertGreaterThan(itemBased.recall, popular.recall * 1.5, "item-based \(itemBased), popularity \(popular)")
        XCTAssertGreaterThan(popular.recall, noise.recall * 2, "popularity \(popular), random \(noise)")
    }
}
