import Dataset
import XCTest

final class EpochPlanTests: XCTestCase {
    func testEveryInteractionExactlyOncePerEpoch() {
        let plan = EpochPlan(seed: 42, epoch: 3, interactionCount: 1003, minibatchSize: 100)
        XCTAssertEqual(plan.minibatchCount, 11)
        var seen = [Int](repeating: 0, count: 1003)
        for b in 0 ..< plan.minibatchCount {
            let batch = plan.interactions(inMinibatch: b)
            XCTAssertEqual(batch.count, b < 10 ? 100 : 3, "minibatch \(b)")
            for i in batch { seen[Int(i)] += 1 }
        }
        XCTAssertEqual(seen, [Int](repeating: 1, count: 1003))
        XCTAssertEqual(plan.order.sorted(), (0 ..< 1003).map { UInt32($0) })
        XCTAssertNotEqual(plan.order, (0 ..< 1003).map { UInt32($0) }, "the order is shuffled")
    }

    func testSameSeedSameOrderOtherEpochOrSeedAnother() {
        let a = EpochPlan(seed: 7, epoch: 0, interactionCount: 500, minibatchSize: 64)
        XCTAssertEqual(a, EpochPlan(seed: 7, epoch: 0, interactionCount: 500, minibatchSize: 64))
        XCTAssertEqual(Array(a.interactions(inMinibatch: 2)), Array(EpochPlan(seed: 7, epoch: 0, interactionCount: 500, minibatchSize: 64).interactions(inMinibatch: 2)))
        XCTAssertNotEqual(a.order, EpochPlan(seed: 7, epoch: 1, interactionCount: 500, minibatchSize: 64).order)
        XCTAssertNotEqual(a.order, EpochPlan(seed: 8, epoch: 0, interactionCount: 500, minibatchSize: 64).order)
        // The minibatch size cuts the same permutation.
        XCTAssertEqual(a.order, EpochPlan(seed: 7, epoch: 0, interactionCount: 500, minibatchSize: 100).order)
    }

    func testEdgeSizes() {
        XCTAssertEqual(EpochPlan(seed: 1, epoch: 0, interactionCount: 0, minibatchSize: 8).minibatchCount, 0)
        let one = EpochPlan(seed: 1, epoch: 0, interactionCount: 5, minibatchSize: 8)
        XCTAssertEqual(one.minibatchCount, 1)
        XCTAssertEqual(one.interactions(inMinibatch: 0).sorted(), [0, 1, 2, 3, 4])
        XCTAssertEqual(EpochPlan(seed: 1, epoch: 0, interactionCount: 16, minibatchSize: 8).minibatchCount, 2)
    }

    /// A shuffle that favours no position: each index lands in the first half about half the time.
    func testShuffleIsUnbiased() {
        var firstHalf = [Int](repeating: 0, count: 10)
        for epoch in 0 ..< 400 {
            let plan = EpochPlan(seed: 3, epoch: epoch, interactionCount: 10, minibatchSize: 5)
            for i in plan.interactions(inMinibatch: 0) { firstHalf[Int(i)] += 1 }
        }
        for (i, count) in firstHalf.enumerated() { XCTAssertEqual(Double(count) / 400, 0.5, accuracy: 0.1, "index \(i)") }
    }
}
