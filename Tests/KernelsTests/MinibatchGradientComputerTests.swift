import Kernels
import RunSettings
import TestSupport
import XCTest

final class MinibatchGradientComputerTests: XCTestCase {
    private func run(_ settings: LossSettings, _ p: LossFixtures.Problem, logQ: [Float]? = nil,
                     computer: MinibatchGradientComputer? = nil) -> MinibatchGradient {
        (computer ?? MinibatchGradientComputer(settings: settings, dim: p.userTable.dim)).compute(
            users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable, bank: p.bank,
            negatives: p.negatives, negativeLogQ: logQ)
    }

    /// A repeated user or item gets one row: the sum of its pairs' gradients (checked against pair-by-pair runs).
    func testRepeatedRowsAreCoalescedSums() {
        var p = LossFixtures.randomProblem(batch: 6, negatives: 8, dim: 5, seed: 1)
        p.users = [2, 0, 2]
        p.items = [4, 1, 4]
        let settings = LossSettings(kind: .bankInfoNCE, temperature: 0.2)
        let whole = run(settings, p)
        XCTAssertEqual(whole.users.ids, [0, 2])
        XCTAssertEqual(whole.items.ids, [1, 4])
        var expectedUser2 = [Float](repeating: 0, count: 5), expectedItem4 = expectedUser2
        for b in [0, 2] {   // bank InfoNCE rows are independent: pair-by-pair gradients add up
            var single = p
            single.users = [p.users[b]]
            single.items = [p.items[b]]
            let g = run(settings, single)
            for j in 0 ..< 5 { expectedUser2[j] += g.users.values[j]; expectedItem4[j] += g.items.values[j] }
        }
        for j in 0 ..< 5 {
            XCTAssertEqual(whole.users.row(1)[5 + j], expectedUser2[j], accuracy: 1e-5)
            XCTAssertEqual(whole.items.row(1)[5 + j], expectedItem4[j], accuracy: 1e-5)
        }
    }

    /// MNR is in-batch softmax with the dot product, whatever the similarity setting.
    func testMNRAgreesWithInBatchDotAtUnitTemperature() {
        let p = LossFixtures.randomProblem(batch: 17, negatives: 20, dim: 9, seed: 2)
        let mnr = run(LossSettings(kind: .mnr, similarity: .cosine, temperature: 1), p)
        let inBatch = run(LossSettings(kind: .inBatchInfoNCE, similarity: .dot, temperature: 1), p)
        XCTAssertEqual(mnr, inBatch)
        let cosine = run(LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 1), p)
        XCTAssertNotEqual(mnr.lossSum, cosine.lossSum)
    }

    /// One computer reused across growing and shrinking shapes gives what a fresh computer gives.
    func testWorkspaceReuseDoesNotLeakBetweenCalls() {
        for settings in [LossSettings(kind: .bankInfoNCE), LossSettings(kind: .inBatchInfoNCE, mixInBatch: true),
                         LossSettings(kind: .bpr)] {
            let shared = MinibatchGradientComputer(settings: settings, dim: 10)
            for (B, K, seed) in [(8, 30, 1), (50, 200, 2), (3, 5, 3), (50, 200, 2)] {
                var p = LossFixtures.randomProblem(batch: B, negatives: K, dim: 10, seed: UInt64(seed))
                if settings.kind == .bpr { p.negatives = p.items.reversed() }
                XCTAssertEqual(run(settings, p, computer: shared), run(settings, p), "\(settings.kind) B=\(B)")
            }
        }
    }

    /// logQ: subtracting log(K·q) with q = 1/K for every negative changes nothing; a popular negative is discounted.
    func testLogQCorrection() {
        let p = LossFixtures.randomProblem(batch: 10, negatives: 16, dim: 6, seed: 4)
        let plain = run(LossSettings(logQCorrection: false), p)
        let flat = run(LossSettings(logQCorrection: true), p, logQ: [Float](repeating: -log(16), count: 16))
        XCTAssertEqual(flat.lossSum, plain.lossSum, accuracy: 1e-4 * plain.lossSum)
        let popular = run(LossSettings(logQCorrection: true), p, logQ: [Float](repeating: -1, count: 16))
        XCTAssertLessThan(popular.lossSum, plain.lossSum)
    }

    func testEmptyMinibatch() {
        let p = LossFixtures.randomProblem(batch: 4, negatives: 4, dim: 6, seed: 4)
        let out = MinibatchGradientComputer(settings: LossSettings(), dim: 6).compute(
            users: [], items: [], userTable: p.userTable, itemTable: p.itemTable, bank: p.bank,
            negatives: p.negatives, negativeLogQ: nil)
        XCTAssertEqual(out.examples, 0)
        XCTAssertEqual(out.lossSum, 0)
        XCTAssertTrue(out.users.isEmpty && out.items.isEmpty)
    }
}
