import Coordinator
import XCTest

final class TrainingScheduleTests: XCTestCase {
    func testStepCountsWithAShortLastStep() {
        // 10 minibatches in steps of 4: 4, 4, 2.
        let s = TrainingSchedule(epochs: 3, minibatchesPerEpoch: 10, minibatchesPerStep: 4)
        XCTAssertEqual(s.stepsPerEpoch, 3)
        XCTAssertEqual(s.totalSteps, 9)
    }

    func testStepCountsWhenStepsDivideTheEpoch() {
        let s = TrainingSchedule(epochs: 2, minibatchesPerEpoch: 12, minibatchesPerStep: 4)
        XCTAssertEqual(s.stepsPerEpoch, 3)
        XCTAssertEqual(s.totalSteps, 6)
    }

    func testEdgeCases() {
        // One minibatch per step; a step larger than the epoch; one minibatch more than a whole number of steps.
        XCTAssertEqual(TrainingSchedule(epochs: 1, minibatchesPerEpoch: 7, minibatchesPerStep: 1).stepsPerEpoch, 7)
        XCTAssertEqual(TrainingSchedule(epochs: 5, minibatchesPerEpoch: 3, minibatchesPerStep: 8).stepsPerEpoch, 1)
        XCTAssertEqual(TrainingSchedule(epochs: 5, minibatchesPerEpoch: 3, minibatchesPerStep: 8).totalSteps, 5)
        XCTAssertEqual(TrainingSchedule(epochs: 1, minibatchesPerEpoch: 9, minibatchesPerStep: 4).stepsPerEpoch, 3)
    }

    func testCursorStartsAtStepOne() {
        XCTAssertEqual(TrainingCursor(), TrainingCursor(step: 1, version: 0, epoch: 0, minibatch: 0))
    }
}
