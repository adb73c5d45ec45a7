import Dataset
import Foundation
import Kernels
import XCTest

final class ItemRankingTests: XCTestCase {
    /// Recall@K of the top lists against the test items, as the evaluator defines it.
    func recall(_ lists: [[ItemRanking.Ranked]], users: [UInt32], data: InteractionData, k: Int) -> Double {
        var sum = 0.0
        for (u, list) in zip(users, lists) {
            let relevant = Set(data.testItems[Int(u)])
            sum += Double(list.prefix(k).filter { relevant.contains($0.item) }.count) / Double(relevant.count)
        }
        return sum / Double(users.count)
    }

    /// The ranking `recommend` prints is the one the evaluation scores: the same Recall@K to the last bit.
    func testAgreesWithTheEvaluationForCosineAndDot() {
        var spec = SyntheticSpec()
        spec.users = 300
        spec.items = 200
        spec.seed = 5
        let data = DatasetLoader.synthetic(spec)
        var random = SeededRandom(seed: 9)
        let users = EmbeddingTable(rows: data.userCount, dim: 8, normalStd: 1, random: &random)
        let items = EmbeddingTable(rows: data.itemCount, dim: 8, normalStd: 1, random: &random)
        let evaluated = (0 ..< data.userCount).filter { !data.testItems[$0].isEmpty }.map(UInt32.init)
        for cosine in [true, false] {
            let expected = RankingEvaluator(data: data, ks: [10], threads: 1)
                .evaluate(users: users, items: items, cosine: cosine)[0].recall
            let lists = ItemRanking.top(k: 10, users: evaluated, userTable: users, itemTable: items, cosine: cosine,
                                        excluded: data.trainItemsByUser(), blockSize: 7)
            XCTAssertEqual(recall(lists, users: evaluated, data: data, k: 10), expected, accuracy: 1e-12, "cosine \(cosine)")
        }
    }

    func testScoresOrderAndExclusions() {
        // user 0 (1, 0.5): dot with items i0 (1,0) 1, i1 (0,1) 0.5, i2 (2,0) 2, i3 (0,3) 1.5, i4 (1,1) 1.5.
        let users = EmbeddingTable(rows: 1, dim: 2, values: [1, 0.5])
        let items = EmbeddingTable(rows: 5, dim: 2, values: [1, 0, 0, 1, 2, 0, 0, 3, 1, 1])
        let excluded = ItemsByUser([[2]])
        let dot = ItemRanking.top(k: 3, users: [0], userTable: users, itemTable: items, cosine: false, excluded: excluded)[0]
        XCTAssertEqual(dot.map(\.item), [3, 4, 0], "i2 excluded; the tie at 1.5 goes to the lower id")
        XCTAssertEqual(dot.map(\.score), [1.5, 1.5, 1])
        let cos = ItemRanking.top(k: 5, users: [0], userTable: users, itemTable: items, cosine: true, excluded: excluded)[0]
        XCTAssertEqual(cos.count, 4, "k larger than what is left")
        // cos((1, .5), (1, 1)) 0.949 beats cos((1, .5), (1, 0)) 0.894.
        XCTAssertEqual(cos.map(\.item), [4, 0, 1, 3], "i1 and i3 point the same way: the tie goes to the lower id")
        XCTAssertEqual(cos[0].score, 1.5 / (Float(1.25).squareRoot() * Float(2).squareRoot()), accuracy: 1e-6)
        XCTAssertTrue(cos.allSatisfy { $0.score <= 1 + 1e-6 })
    }
}
