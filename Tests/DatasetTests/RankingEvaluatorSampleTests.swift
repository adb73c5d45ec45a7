import Dataset
import Foundation
import Kernels
import XCTest

/// `RankingEvaluator(sampleUsers:sampleSeed:)`: a seeded sample of the test users, whose figures are those of an
/// evaluation of exactly these users.
final class RankingEvaluatorSampleTests: XCTestCase {
    /// 400 users, 300 items; a validation split so that the excluded items include validation items; some users
    /// without test items (they never qualify).
    private func data() -> InteractionData {
        var data = DatasetLoader.synthetic(SyntheticSpec(users: 400, items: 300, interactionsPerUser: 12, seed: 5))
        for u in stride(from: 0, to: 400, by: 7) { data.testItems[u] = [] }
        return data.carveValidation(fraction: 0.2, seed: 3)
    }

    private func tables(_ data: InteractionData) -> (EmbeddingTable, EmbeddingTable) {
        var random = SeededRandom(seed: 11)
        return (EmbeddingTable(rows: data.userCount, dim: 8, normalStd: 1, random: &random),
                EmbeddingTable(rows: data.itemCount, dim: 8, normalStd: 1, random: &random))
    }

    func testTheSampleIsSeededOfTheRequestedSizeAmongTheUsersWithTestItems() {
        let data = data()
        let all = RankingEvaluator(data: data, ks: [20])
        XCTAssertFalse(all.isSampled)
        XCTAssertEqual(all.qualifyingUserCount, all.evaluatedUsers.count)
        XCTAssertEqual(all.evaluatedUsers.count, 400 - 58, "users 0, 7, …, 399 have no test items")

        let a = RankingEvaluator(data: data, ks: [20], sampleUsers: 50, sampleSeed: 42)
        let again = RankingEvaluator(data: data, ks: [20], sampleUsers: 50, sampleSeed: 42)
        let other = RankingEvaluator(data: data, ks: [20], sampleUsers: 50, sampleSeed: 43)
        XCTAssertTrue(a.isSampled)
        XCTAssertEqual(a.qualifyingUserCount, all.evaluatedUsers.count)
        XCTAssertEqual(a.evaluatedUsers.count, 50)
        XCTAssertEqual(Set(a.evaluatedUsers).count, 50, "drawn without replacement")
        XCTAssertEqual(a.evaluatedUsers, a.evaluatedUsers.sorted())
        XCTAssertTrue(Set(a.evaluatedUsers).isSubset(of: Set(all.evaluatedUsers)), "only users with test items")
        XCTAssertEqual(a.evaluatedUsers, again.evaluatedUsers, "the same seed draws the same users")
        XCTAssertNotEqual(a.evaluatedUsers, other.evaluatedUsers, "another seed draws others")
        XCTAssertLessThan(Set(a.evaluatedUsers).intersection(other.evaluatedUsers).count, 25)
        // Not concentrated at the start of the id range (a prefix would be a biased sample).
        XCTAssertGreaterThan(a.evaluatedUsers.last!, 300)
    }

    func testZeroOrAtLeastTheTestUsersEvaluatesThemAll() {
        let data = data()
        let all = RankingEvaluator(data: data, ks: [20]).evaluatedUsers
        for n in [0, all.count, all.count + 1, 1_000_000] {
            let evaluator = RankingEvaluator(data: data, ks: [20], sampleUsers: n, sampleSeed: 42)
            XCTAssertEqual(evaluator.evaluatedUsers, all, "sampleUsers \(n)")
            XCTAssertFalse(evaluator.isSampled)
        }
        XCTAssertEqual(RankingEvaluator(data: data, ks: [20], sampleUsers: all.count - 1, sampleSeed: 1)
            .evaluatedUsers.count, all.count - 1)
    }

    func testTheFiguresOfASampleAreThoseOfExactlyThoseUsers() {
        let data = data()
        let (users, items) = tables(data)
        for cosine in [false, true] {
            let sampled = RankingEvaluator(data: data, ks: [5, 20], sampleUsers: 60, sampleSeed: 7, blockSize: 16)
            // The same data with every other user's test items removed: the full evaluator then ranks exactly these.
            var restricted = data
            let chosen = Set(sampled.evaluatedUsers)
            for u in 0 ..< data.userCount where !chosen.contains(UInt32(u)) { restricted.testItems[u] = [] }
            let reference = RankingEvaluator(data: restricted, ks: [5, 20])
            XCTAssertEqual(reference.evaluatedUsers, sampled.evaluatedUsers)
            let expected = reference.evaluate(users: users, items: items, cosine: cosine)
            let got = sampled.evaluate(users: users, items: items, cosine: cosine)
            XCTAssertEqual(got, expected, "cosine \(cosine)")
            XCTAssertEqual(got.map(\.users), [60, 60])
            XCTAssertGreaterThan(got[1].recall, 0, "the figures are not trivially zero")
            // From the sampled users' rows alone (what the coordinator copies), the same figures.
            let rows = sampled.evaluatedRows(of: users)
            XCTAssertEqual(rows.rows, 60)
            XCTAssertEqual(rows.row(3), users.row(Int(sampled.evaluatedUsers[3])))
            XCTAssertEqual(sampled.evaluate(evaluatedUserRows: rows, items: items, cosine: cosine), expected)
            // And the sample differs from the whole: it is a sample, not the full figure renamed.
            let whole = RankingEvaluator(data: data, ks: [5, 20]).evaluate(users: users, items: items, cosine: cosine)
            XCTAssertEqual(whole.map(\.users), [342, 342])
            XCTAssertNotEqual(whole, got)
        }
    }

    func testTheValidationTargetSamplesToo() {
        let data = data()
        let all = RankingEvaluator(data: data, ks: [20], target: .validation)
        let sampled = RankingEvaluator(data: data, ks: [20], target: .validation, sampleUsers: 30, sampleSeed: 2)
        XCTAssertEqual(sampled.evaluatedUsers.count, 30)
        XCTAssertTrue(Set(sampled.evaluatedUsers).isSubset(of: Set(all.evaluatedUsers)))
    }
}
