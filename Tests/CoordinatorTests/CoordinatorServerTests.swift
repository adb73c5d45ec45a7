@testable import Coordinator
import Wire
import XCTest

final class CoordinatorServerTests: XCTestCase {
    func testAWorkerOfAnotherProtocolVersionIsRejectedAndOtherDamageIsSilent() {
        guard case let .reject(reason, text)? = CoordinatorServer.answer(to: .unsupportedVersion(7)) else {
            return XCTFail("no REJECT for an unsupported version")
        }
        XCTAssertEqual(reason, .unsupportedVersion)
        XCTAssertTrue(text.contains("version 7"), text)
        XCTAssertNil(CoordinatorServer.answer(to: .checksumMismatch(declared: 1, computed: 2)))
        XCTAssertNil(CoordinatorServer.answer(to: .badFrameCount(3)))
    }
}
