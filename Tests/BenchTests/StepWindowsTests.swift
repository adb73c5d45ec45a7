@testable import Bench
import XCTest

final class StepWindowsTests: XCTestCase {
    func testTheShareOfTheBestBuildIsTakenWindowByWindow() {
        var w = StepWindows(otherBuilds: 2)
        // Window 0: another build is fastest; window 1: the own build; window 2: the second other build.
        for (step, own, others) in [(1.0, 0.5, [0.4, 0.9]), (2.0, 0.5, [0.6, 0.7]), (3.0, 0.5, [0.8, 0.3])] {
            w.addStep(step)
            w.addCeiling(own: own, others: others)
        }
        XCTAssertEqual(w.sharesOfBest, [0.4, 0.25, 0.1], accuracy: 1e-12)
        XCTAssertEqual(w.shareOfBest!, 0.25, accuracy: 1e-12)
        // The own build's fraction: median GEMM time over median step time, not a median of ratios.
        XCTAssertEqual(w.gemmFraction!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(w.stepSeconds, 2.0)
        XCTAssertEqual(w.otherSeconds(0), 0.6)
        XCTAssertEqual(w.otherSeconds(1), 0.7)
    }

    func testMediansOfAnEvenCountAverageTheMiddleTwo() {
        var w = StepWindows(otherBuilds: 1)
        for (step, own, other) in [(4.0, 1.0, 2.0), (1.0, 0.5, 0.25), (3.0, 1.5, 3.0), (2.0, 1.0, 0.5)] {
            w.addStep(step)
            w.addCeiling(own: own, others: [other])
        }
        XCTAssertEqual(w.stepSeconds, 2.5)
        XCTAssertEqual(w.gemmSeconds!, 1.0)
        XCTAssertEqual(w.sharesOfBest, [0.25, 0.25, 0.5, 0.25], accuracy: 1e-12)
        XCTAssertEqual(w.shareOfBest!, 0.25, accuracy: 1e-12)
        XCTAssertEqual(w.otherSeconds(0), 1.25)
    }

    func testWithoutOtherBuildsOrCeilingsThoseFiguresAreAbsent() {
        var steps = StepWindows(otherBuilds: 0)
        steps.addStep(1)
        steps.addStep(3)
        XCTAssertNil(steps.gemmSeconds)
        XCTAssertNil(steps.gemmFraction)
        XCTAssertNil(steps.shareOfBest)
        XCTAssertEqual(steps.stepSeconds, 2)

        var own = StepWindows(otherBuilds: 0)
        own.addStep(2)
        own.addCeiling(own: 1.5, others: [])
        XCTAssertEqual(own.gemmFraction!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(own.sharesOfBest, [])
        XCTAssertNil(own.shareOfBest)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(a) against \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) against \(b)", file: file, line: line) }
}
