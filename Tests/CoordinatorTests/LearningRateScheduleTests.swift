@testable import Coordinator
import Kernels
import XCTest

final class LearningRateScheduleTests: XCTestCase {
    func testCosineGoesFromOneToTheFloorAndStaysThere() {
        let s = LearningRateSchedule.cosine(finalFraction: 0.1)
        XCTAssertEqual(s.scale(step: 1, totalSteps: 101), 1, accuracy: 1e-6)
        XCTAssertEqual(s.scale(step: 51, totalSteps: 101), 0.55, accuracy: 1e-6, "halfway: the mean of 1 and 0.1")
        XCTAssertEqual(s.scale(step: 101, totalSteps: 101), 0.1, accuracy: 1e-6)
        XCTAssertEqual(s.scale(step: 500, totalSteps: 101), 0.1, accuracy: 1e-6, "past the plan it stays at the floor")
        var previous: Float = 2
        for step in 1 ... 101 {
            let x = s.scale(step: step, totalSteps: 101)
            XCTAssertLessThanOrEqual(x, previous)
            previous = x
        }
        XCTAssertEqual(LearningRateSchedule.constant.scale(step: 70, totalSteps: 101), 1)
    }

    func testParsing() {
        XCTAssertEqual(LearningRateSchedule(parsing: "constant"), .constant)
        XCTAssertEqual(LearningRateSchedule(parsing: "cosine"), .cosine(finalFraction: 0.01))
        XCTAssertEqual(LearningRateSchedule(parsing: "cosine:0.05"), .cosine(finalFraction: 0.05))
        XCTAssertNil(LearningRateSchedule(parsing: "cosine:2"))
        XCTAssertNil(LearningRateSchedule(parsing: "linear"))
    }

    func testTheScaleMultipliesTheStep() {
        let gradient = SparseRows(dim: 2, ids: [0], values: [1, -1])
        var steps: [[Float]] = []
        for scale: Float in [1, 0.25] {
            for kind in [OptimizerKind.sgd, .adam] {
                let table = EmbeddingTable(rows: 1, dim: 2)
                SparseOptimizer(settings: OptimizerSettings(kind: kind, learningRate: 0.1), rows: 1, dim: 2)
                    .apply(gradient, to: table, learningRateScale: scale)
                steps.append(Array(table.row(0)))
            }
        }
        // [sgd 1, adam 1, sgd 0.25, adam 0.25]
        for j in 0 ..< 2 {
            XCTAssertEqual(steps[2][j], steps[0][j] * 0.25, accuracy: 1e-6)
            XCTAssertEqual(steps[3][j], steps[1][j] * 0.25, accuracy: 1e-6)
            XCTAssertNotEqual(steps[0][j], 0)
        }
    }
}
