import Report
import XCTest

final class NiceScaleTests: XCTestCase {
    func testTicksAreNiceNumbersThatCoverTheData() {
        let s = NiceScale(minimum: 0.0123, maximum: 0.1856, ticks: 5)
        XCTAssertEqual(s.step, 0.05, accuracy: 1e-12)
        XCTAssertEqual(s.ticks, [0, 0.05, 0.1, 0.15, 0.2])
        XCTAssertLessThanOrEqual(s.lower, 0.0123)
        XCTAssertGreaterThanOrEqual(s.upper, 0.1856)
        XCTAssertEqual(s.label(0.15), "0.15")
    }

    func testStepsOfTwoAndAHalfAndLargeValues() {
        let s = NiceScale(minimum: 0, maximum: 10, ticks: 5)
        XCTAssertEqual(s.step, 2.5)
        XCTAssertEqual(s.ticks, [0, 2.5, 5, 7.5, 10])
        XCTAssertEqual(s.label(7.5), "7.5")
        let big = NiceScale(minimum: 30_000, maximum: 170_000, ticks: 5)
        XCTAssertEqual(big.step, 50_000)
        XCTAssertEqual(big.ticks, [0, 50_000, 100_000, 150_000, 200_000])
        XCTAssertEqual(big.label(150_000), "150k")
        XCTAssertEqual(NiceScale(minimum: 0, maximum: 100, ticks: 5).label(25), "25")
    }

    func testEpochAxisNeverTicksBetweenEpochs() {
        let s = NiceScale(minimum: 1, maximum: 3, ticks: 6, minimumStep: 1)
        XCTAssertEqual(s.ticks, [1, 2, 3])
        XCTAssertEqual(s.label(2), "2")
    }

    func testDegenerateRanges() {
        // One value: a range around it.
        let one = NiceScale(minimum: 0.2, maximum: 0.2)
        XCTAssertLessThan(one.lower, 0.2)
        XCTAssertGreaterThan(one.upper, 0.2)
        // A single zero, nothing finite, an inverted range: [0, 1].
        for s in [NiceScale(minimum: 0, maximum: 0), NiceScale(minimum: .nan, maximum: .nan),
                  NiceScale(minimum: 5, maximum: 1), NiceScale(minimum: -.infinity, maximum: 3)] {
            XCTAssertLessThanOrEqual(s.lower, 0)
            XCTAssertGreaterThanOrEqual(s.upper, 1)
            XCTAssertTrue(s.step.isFinite && s.step > 0)
        }
        XCTAssertEqual(NiceScale(minimum: 0, maximum: 1).fraction(0.5), 0.5, accuracy: 1e-12)
    }

    func testNoFloatingPointDustInTicks() {
        let s = NiceScale(minimum: 0.1, maximum: 0.7, ticks: 7)
        for t in s.ticks { XCTAssertEqual(t, (t * 1e6).rounded() / 1e6) }
        XCTAssertTrue(s.ticks.contains(0.3))
    }
}
