@testable import Bench
import XCTest

final class StepWindowsTests: XCTestCase {
    func testEachBuildsShareIsTakenWindowByWindowAndTheBestBuildIsTheOneWithTheLowestMedian() {
        var w = StepWindows(otherBuilds: 2)
        // Window 0: another build is fastest; window 1: the own build; window 2: the second other build.
        for (step, own, others) in [(1.0, 0.5, [0.4, 0.9]), (2.0, 0.5, [0.6, 0.7]), (3.0, 0.5, [0.8, 0.3])] {
            w.addStep(step)
            w.addCeiling(own: own, others: others)
        }
        // Own: 0.5, 0.25, 1/6; first other: 0.4, 0.3, 0.8/3; second other: 0.9, 0.35, 0.1.
        XCTAssertEqual(w.sharesOfBuilds, [0.25, 0.3, 0.35], accuracy: 1e-12)
        // The own build has the lowest median share. Taking each window's fastest build instead (0.4, 0.25, 0.1)
        // would also give 0.25 here; the next test tells them apart.
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
        // Own: 0.25, 0.5, 0.5, 0.5 → 0.5; other: 0.5, 0.25, 1, 0.25 → 0.375.
        XCTAssertEqual(w.sharesOfBuilds, [0.5, 0.375], accuracy: 1e-12)
        XCTAssertEqual(w.shareOfBest!, 0.375, accuracy: 1e-12)
        XCTAssertEqual(w.otherSeconds(0), 1.25)
    }

    /// Two builds of the same speed whose timings take turns being lucky: each window's fastest would make a
    /// ceiling that neither build reaches in a typical window.
    func testBuildsOfTheSameSpeedAreNotCombinedIntoALuckierCeiling() {
        var w = StepWindows(otherBuilds: 1)
        for (own, other) in [(0.9, 1.1), (1.1, 0.9), (0.9, 1.1), (1.1, 0.9), (1.0, 1.0)] {
            w.addStep(2)
            w.addCeiling(own: own, others: [other])
        }
        XCTAssertEqual(w.sharesOfBuilds, [0.5, 0.5], accuracy: 1e-12)
        XCTAssertEqual(w.shareOfBest!, 0.5, accuracy: 1e-12)   // each window's fastest: 0.45, median 0.45
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
        XCTAssertEqual(own.sharesOfBuilds, [])
        XCTAssertNil(own.shareOfBest)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(a) against \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) against \(b)", file: file, line: line) }
}
