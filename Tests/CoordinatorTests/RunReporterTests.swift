@testable import Coordinator
import XCTest

final class RunReporterTests: XCTestCase {
    func testDurationsReadAsAPersonWouldSayThem() {
        XCTAssertEqual(RunReporter.duration(42), "42s")
        XCTAssertEqual(RunReporter.duration(125), "2m5s")
        XCTAssertEqual(RunReporter.duration(3 * 3600 + 120), "3h2m")
        XCTAssertEqual(RunReporter.duration(.nan), "?")
    }

    func testTheProgressLineSaysWhereTheRunIsItsRateAndTheTimeLeft() {
        let schedule = TrainingSchedule(epochs: 5, minibatchesPerEpoch: 20, minibatchesPerStep: 2)
        // Step 3 of epoch 2 applied (minibatches 0-5 scheduled), 1200 examples in 2 s.
        let line = RunReporter.progressLine(cursor: TrainingCursor(step: 13, version: 12, epoch: 1, minibatch: 6),
                                            schedule: schedule, loss: (sum: 600, examples: 1200), epochSeconds: 2)
        // 37 steps left at 2/3 s each.
        XCTAssertEqual(line, "epoch 2/5  step 3/10  600 examples/s  loss 0.5000  ETA 24s")
    }
}
