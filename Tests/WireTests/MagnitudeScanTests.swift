import Wire
import XCTest

/// `MagnitudeScan` against the plain definition (the first value that is not finite or beyond ±maxAbs), for every
/// position in the eight-lane part and the tail, each kind of bad value, and the edges of the bound.
final class MagnitudeScanTests: XCTestCase {
    private func reference(_ values: [Float], _ maxAbs: Float) -> Int? {
        values.firstIndex { !$0.isFinite || !(abs($0) <= maxAbs) }
    }

    func testFindsTheFirstValueOutOfRangeWherever() {
        let maxAbs: Float = 2.5
        for count in [0, 1, 7, 8, 9, 16, 23, 64, 67] {
            let good: [Float] = (0 ..< count).map { i in [-2.5, 2.5, 0, -0.0, 1e-30, -1.75, 2.4999998][i % 7] }
            XCTAssertNil(MagnitudeScan.firstOutOfRange(good, maxAbs: maxAbs), "count \(count): all within ±2.5")
            for bad in [Float.nan, -.nan, .infinity, -.infinity, 2.5000002, -3, .greatestFiniteMagnitude] {
                for position in Set([0, count / 2, max(count - 1, 0)]) where position < count {
                    var values = good
                    values[position] = bad
                    if position + 1 < count { values[count - 1] = -.infinity }   // a later bad value is not the first
                    XCTAssertEqual(MagnitudeScan.firstOutOfRange(values, maxAbs: maxAbs), position,
                                   "count \(count): \(bad) at \(position)")
                    XCTAssertEqual(reference(values, maxAbs), position)
                }
            }
        }
    }

    func testTheBoundsEdges() {
        // An infinite bound admits every finite value and refuses only ±∞ and NaN.
        XCTAssertNil(MagnitudeScan.firstOutOfRange([.greatestFiniteMagnitude, -1], maxAbs: .infinity))
        XCTAssertEqual(MagnitudeScan.firstOutOfRange([1, -.infinity], maxAbs: .infinity), 1)
        XCTAssertEqual(MagnitudeScan.firstOutOfRange([1, .nan], maxAbs: .infinity), 1)
        // A bound of zero admits only zeros of either sign; a NaN or negative bound admits nothing.
        XCTAssertNil(MagnitudeScan.firstOutOfRange([0, -0.0], maxAbs: 0))
        XCTAssertEqual(MagnitudeScan.firstOutOfRange([0, .leastNonzeroMagnitude], maxAbs: 0), 1)
        XCTAssertEqual(MagnitudeScan.firstOutOfRange([0], maxAbs: .nan), 0)
        XCTAssertEqual(MagnitudeScan.firstOutOfRange([0], maxAbs: -1), 0)
        XCTAssertNil(MagnitudeScan.firstOutOfRange([], maxAbs: -1))
    }
}
