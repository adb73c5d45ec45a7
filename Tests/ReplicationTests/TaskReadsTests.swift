import Kernels
@testable import Replication
import RunSettings
import Wire
import XCTest

/// What a task reads, by table, is what its STEP must carry: the coordinator sends it, the worker looks it up.
final class TaskReadsTests: XCTestCase {
    let task = MinibatchTask(epoch: 1, minibatch: 2, users: [4, 1, 4], items: [7, 3, 7])

    func spec(_ loss: LossSettings) -> TrainingSpec {
        TrainingSpec(users: 5, items: 9, dim: 2, loss: loss, sampler: .uniform, popularityAlpha: 0, seed: 11)
    }

    func testEachLossReadsItsNegativesFromItsTable() throws {
        let bank = try XCTUnwrap(TaskNegatives(spec: spec(LossSettings(negatives: 4))))
        let drawn = bank.draw(for: task).ids
        XCTAssertEqual(drawn.count, 4)
        XCTAssertEqual(bank.reads(for: task, negatives: drawn),
                       TaskReads(users: [1, 4], items: [3, 7], bank: Array(Set(drawn)).sorted()))
        let live = try XCTUnwrap(TaskNegatives(spec: spec(LossSettings(negatives: 4, liveNegatives: true))))
        XCTAssertEqual(live.reads(for: task, negatives: drawn),
                       TaskReads(users: [1, 4], items: Array(Set(drawn + [3, 7])).sorted(), bank: []))
        let bpr = try XCTUnwrap(TaskNegatives(spec: spec(LossSettings(kind: .bpr))))
        let bprDrawn = bpr.draw(for: task).ids
        XCTAssertEqual(bprDrawn.count, 3, "one negative a pair")
        XCTAssertEqual(bpr.reads(for: task, negatives: bprDrawn).bank, [])
        XCTAssertEqual(bpr.reads(for: task, negatives: bprDrawn).items, Array(Set(bprDrawn + [3, 7])).sorted())
        let inBatch = try XCTUnwrap(TaskNegatives(spec: spec(LossSettings(kind: .inBatchInfoNCE))))
        XCTAssertEqual(inBatch.reads(for: task, negatives: inBatch.draw(for: task).ids),
                       TaskReads(users: [1, 4], items: [3, 7], bank: []))
    }

    func testTheUnionOfSeveralTasksIsAscendingWithoutRepeats() {
        let union = TaskReads.union([TaskReads(users: [3, 5], items: [1], bank: [8, 9]),
                                     TaskReads(users: [0, 5], items: [], bank: [2, 8])])
        XCTAssertEqual(union, TaskReads(users: [0, 3, 5], items: [1], bank: [2, 8, 9]))
        XCTAssertEqual(union.count, 7)
    }

    func testAStepsRowsAreFoundByIdAndAMissingOneIsNamed() throws {
        let step = Step(step: 1, version: 3, users: RowBlock(dim: 2, ids: [1, 4], values: [1, 2, 3, 4]),
                        items: RowBlock(dim: 2, ids: [3, 7], values: [5, 6, 7, 8]),
                        bank: RowBlock(dim: 2, ids: [0, 6], values: [9, 10, 11, 12]), tasks: [task])
        let rows = StepRows(step, dim: 2)
        let found = try rows.rows(users: task.users, items: task.items, negatives: [6, 0, 6], negativesFromItems: false)
        XCTAssertEqual(found.userRows, [1, 0, 1])
        XCTAssertEqual(found.itemRows, [1, 0, 1])
        XCTAssertEqual(found.negativeRows, [1, 0, 1])
        XCTAssertEqual(found.negatives.row(1), [11, 12])
        XCTAssertEqual(found.users.row(0), [1, 2])
        XCTAssertThrowsError(try rows.rows(users: [2], items: [3], negatives: [], negativesFromItems: false)) {
            XCTAssertEqual(($0 as? Refusal)?.key, "step_user_row_missing")
        }
        XCTAssertThrowsError(try rows.rows(users: [1], items: [3], negatives: [5], negativesFromItems: true)) {
            XCTAssertEqual(($0 as? Refusal)?.key, "step_item_row_missing")
        }
        XCTAssertThrowsError(try rows.rows(users: [1], items: [3], negatives: [9], negativesFromItems: false)) {
            XCTAssertEqual(($0 as? Refusal)?.key, "step_bank_row_missing")
        }
    }
}
