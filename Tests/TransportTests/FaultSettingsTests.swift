import XCTest
import Transport

final class FaultSettingsTests: XCTestCase {
    func testParsesTheDocumentedForm() throws {
        let s = try FaultSettings(parsing: "drop=0.05,duplicate=0.05,delay=0.02,reorder=0.02,corrupt=0.01,seed=7")
        XCTAssertEqual(s, FaultSettings(drop: 0.05, duplicate: 0.05, delay: 0.02, reorder: 0.02, corrupt: 0.01, seed: 7))
        XCTAssertTrue(s.isEnabled)
        XCTAssertEqual(try FaultSettings(parsing: " drop = 1 , delayms=20"), FaultSettings(drop: 1, delayMilliseconds: 20))
        XCTAssertEqual(try FaultSettings(parsing: s.description), s)
    }

    func testEmptyIsNoFaults() throws {
        XCTAssertEqual(try FaultSettings(parsing: ""), .none)
        XCTAssertFalse(FaultSettings.none.isEnabled)
        XCTAssertFalse(try FaultSettings(parsing: "seed=3").isEnabled)
    }

    func testBadTextNamesTheBadKeyOrValue() {
        let cases: [(String, String)] = [
            ("dorp=0.1", "unknown key \"dorp\""),
            ("drop=1.5", "drop=1.5: expected a probability between 0 and 1"),
            ("corrupt=abc", "corrupt=abc: expected a probability"),
            ("seed=-1", "seed=-1: expected an unsigned integer"),
            ("delayms=x", "delayms=x: expected milliseconds"),
            ("drop", "expected key=value, got \"drop\""),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try FaultSettings(parsing: text), text) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(expected), "\(message) should contain \(expected)")
                XCTAssertTrue(message.contains("\"\(text)\""), message)
            }
        }
    }
}
