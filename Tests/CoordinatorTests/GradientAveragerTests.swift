import Coordinator
import Kernels
import XCTest

final class GradientAveragerTests: XCTestCase {
    /// Sums are taken in the order the gradients are added: (1e8 + 1) − 1e8 is 0 in float32, 1 in any other order.
    func testSumsInTheOrderAdded() {
        let averager = GradientAverager(rows: 4, dim: 1)
        for v: Float in [1e8, 1, -1e8] { averager.add(SparseRows(dim: 1, ids: [2], values: [v])) }
        XCTAssertEqual(averager.finish(examples: 1).values, [0])
        for v: Float in [1e8, -1e8, 1] { averager.add(SparseRows(dim: 1, ids: [2], values: [v])) }
        XCTAssertEqual(averager.finish(examples: 1).values, [1])
    }

    /// Rows of the same id add up across gradients (and within one); every sum is divided by the examples.
    func testDividesTheSumsByTheExamples() {
        let averager = GradientAverager(rows: 10, dim: 2)
        averager.add(SparseRows(dim: 2, ids: [7, 3], values: [1, 2, 3, 4]))
        averager.add(SparseRows(dim: 2, ids: [3, 3], values: [10, 20, 100, 200]))
        let out = averager.finish(examples: 4)
        XCTAssertEqual(out.dim, 2)
        XCTAssertEqual(out.ids, [3, 7])
        XCTAssertEqual(out.values, [(3 + 10 + 100) / 4, (4 + 20 + 200) / 4, 1 / 4, 2 / 4] as [Float])
    }

    /// Output ids ascend whatever order rows were first touched in; only touched rows appear (no densifying).
    func testOutputIsSortedAndSparse() {
        let rows = 100_000
        let averager = GradientAverager(rows: rows, dim: 3)
        var random = SeededRandom(seed: 4)
        var touched = Set<UInt32>()
        for _ in 0 ..< 5 {
            let ids = (0 ..< 20).map { _ in UInt32(random.nextInt(below: rows)) }
            touched.formUnion(ids)
            averager.add(SparseRows(dim: 3, ids: ids, values: [Float](repeating: 1, count: 60)))
        }
        let out = averager.finish(examples: 1)
        XCTAssertEqual(out.ids, touched.sorted())
        XCTAssertEqual(out.values.count, touched.count * 3)
    }

    /// `finish` resets: the next step sees none of the previous step's rows or sums.
    func testFinishLeavesNoResidue() {
        let averager = GradientAverager(rows: 6, dim: 2)
        averager.add(SparseRows(dim: 2, ids: [1, 4], values: [1, 1, 2, 2]))
        _ = averager.finish(examples: 1)
        averager.add(SparseRows(dim: 2, ids: [4, 5], values: [10, 20, 30, 40]))
        let second = averager.finish(examples: 2)
        XCTAssertEqual(second.ids, [4, 5])
        XCTAssertEqual(second.values, [5, 10, 15, 20])
        XCTAssertEqual(averager.finish(examples: 1), SparseRows(dim: 2), "nothing added: nothing out")
    }
}
