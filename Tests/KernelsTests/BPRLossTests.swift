import Kernels
import RunSettings
import TestSupport
import XCTest

final class BPRLossTests: XCTestCase {
    func testMatchesGolden() throws {
        let g = try GoldenFile("bpr_seed_form")
        let a = g.matrix("anchor"), p = g.matrix("positive"), n = g.matrix("negative")
        let B = Double(a.count)
        let reference = LossReference.bpr(users: a, positives: p, negatives: n)
        XCTAssertEqual(reference.lossSum / B, g.number("loss"), accuracy: 1e-12)
        XCTAssertLessThan(maxRelativeError(flatten(reference.users).map { $0 / B }, flatten(g.matrix("grad_anchor"))), 1e-5)

        let f = { (x: [[Double]]) in flatten(x).map { Float($0) } }
        let out = bprLoss(anchors: f(a), positives: f(p), negatives: f(n), dim: a[0].count)
        XCTAssertEqual(out.lossSum / B, g.number("loss"), accuracy: 1e-4 * g.number("loss"))
        XCTAssertLessThan(maxRelativeError(out.anchors.map { Double($0) / B }, flatten(g.matrix("grad_anchor"))), 1e-4)
        XCTAssertLessThan(maxRelativeError(out.positives.map { Double($0) / B }, flatten(g.matrix("grad_positive"))), 1e-4)
        XCTAssertLessThan(maxRelativeError(out.negatives.map { Double($0) / B }, flatten(g.matrix("grad_negative"))), 1e-4)
    }

    func testReferenceGradientsMatchFiniteDifferences() {
        var random = SeededRandom(seed: 5)
        let rows = { (0 ..< 3).map { _ in (0 ..< 4).map { _ in random.nextGaussian() } } }
        let inputs = [rows(), rows(), rows()]
        let r = LossReference.bpr(users: inputs[0], positives: inputs[1], negatives: inputs[2])
        let grads = [r.users, r.positives, r.negatives]
        let h = 1e-6
        for which in 0 ..< 3 {
            for i in 0 ..< 3 {
                for j in 0 ..< 4 {
                    var plus = inputs, minus = inputs
                    plus[which][i][j] += h
                    minus[which][i][j] -= h
                    let numeric = (LossReference.bpr(users: plus[0], positives: plus[1], negatives: plus[2]).lossSum
                        - LossReference.bpr(users: minus[0], positives: minus[1], negatives: minus[2]).lossSum) / (2 * h)
                    XCTAssertEqual(grads[which][i][j], numeric, accuracy: 1e-7 + 1e-6 * abs(numeric))
                }
            }
        }
    }

    /// The product path: negatives are live item rows, so item gradients cover positives and negatives, coalesced.
    func testComputerMatchesReferenceWithLiveNegatives() {
        let p = LossFixtures.randomProblem(batch: 40, negatives: 0, dim: 12, seed: 9)
        var random = SeededRandom(seed: 10)
        var negatives = (0 ..< 40).map { _ in UInt32(random.nextInt(below: p.itemTable.rows)) }
        negatives[3] = p.items[3]   // an accidental hit: skipped
        let settings = LossSettings(kind: .bpr)
        let out = MinibatchGradientComputer(settings: settings, dim: 12).compute(
            users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable, bank: p.bank,
            negatives: negatives, negativeLogQ: nil)
        let reference = LossReference.bpr(users: LossFixtures.rows(p.userTable, p.users),
                                          positives: LossFixtures.rows(p.itemTable, p.items),
                                          negatives: LossFixtures.rows(p.itemTable, negatives),
                                          positiveIds: p.items, negativeIds: negatives)
        XCTAssertEqual(out.lossSum, reference.lossSum, accuracy: 1e-4 * reference.lossSum)
        let users = LossFixtures.sumById(ids: p.users, rows: reference.users)
        let items = LossFixtures.sumById(ids: p.items + negatives, rows: reference.positives + reference.negatives)
        XCTAssertEqual(out.users.ids, users.ids)
        XCTAssertEqual(out.items.ids, items.ids)
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.users), users.values), 1e-4)
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.items), items.values), 1e-4)
        XCTAssertTrue(Set(negatives).isSubset(of: Set(out.items.ids)))
    }
}
