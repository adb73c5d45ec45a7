@testable import Wire
import XCTest

/// The id checks of a received block, in both their paths: ascending ids (one walk) and any other order.
final class IdScanTests: XCTestCase {
    func testFirstRepeatInEveryOrder() {
        XCTAssertNil(RowBlock.firstRepeat([]))
        XCTAssertNil(RowBlock.firstRepeat([7]))
        XCTAssertNil(RowBlock.firstRepeat([1, 2, 9, 40]))
        XCTAssertNil(RowBlock.firstRepeat([40, 2, 9, 1]))
        XCTAssertEqual(RowBlock.firstRepeat([1, 2, 2, 3]), 2)
        XCTAssertEqual(RowBlock.firstRepeat([5, 1, 3, 1, 5]), 1)
        XCTAssertEqual(RowBlock.firstRepeat([0, 0]), 0)
    }

    func testFirstOutsideInEveryOrder() {
        let allowed: [UInt32] = [2, 5, 9, 12]
        for (ids, expected) in [([], nil), ([2, 5, 9, 12], nil), ([5, 12], nil), ([12, 2, 9], nil),
                                ([1, 5], 1), ([2, 6, 9], 6), ([2, 5, 13], 13), ([2, 5, 9, 12, 100], 100),
                                ([9, 3], 3), ([12, 0, 2], 0), ([0xFFFF_FFFF], 0xFFFF_FFFF)] as [([UInt32], UInt32?)] {
            XCTAssertEqual(GradientContract.firstOutside(ids, allowed: allowed), expected, "\(ids)")
        }
        XCTAssertEqual(GradientContract.firstOutside([3], allowed: []), 3)
    }
}
