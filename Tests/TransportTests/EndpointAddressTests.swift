import XCTest
@testable import Transport

final class EndpointAddressTests: XCTestCase {
    func testAcceptsTCPHostPort() throws {
        for good in ["tcp://127.0.0.1:5555", "tcp://coordinator.local:1", "tcp://[::1]:65535", "tcp://node-7:4000"] {
            XCTAssertNoThrow(try EndpointAddress.validate(good, binding: false), good)
            XCTAssertNoThrow(try EndpointAddress.validate(good, binding: true), good)
        }
        for bindOnly in ["tcp://*:5555", "tcp://127.0.0.1:0", "tcp://*:*", "tcp://0.0.0.0:0"] {
            XCTAssertNoThrow(try EndpointAddress.validate(bindOnly, binding: true), bindOnly)
        }
    }

    func testRejectsWithAClearSentence() {
        let bad = ["", "127.0.0.1:5555", "tcp://127.0.0.1", "tcp://:5555", "tcp://host:port", "tcp://host:70000",
                   "tcp://host:-1", "ipc:///tmp/x", "tcp://::1:5555", "tcp://a b:1", "tcp://host:5555/x"]
        for text in bad {
            XCTAssertThrowsError(try EndpointAddress.validate(text, binding: true), text) { error in
                XCTAssertEqual(error as? TransportError, .badEndpoint(text))
                XCTAssertEqual("\(error)", "tcp://HOST:PORT expected, got \"\(text)\"")
            }
        }
        for connectOnlyBad in ["tcp://*:5555", "tcp://127.0.0.1:0", "tcp://host:*"] {
            XCTAssertThrowsError(try EndpointAddress.validate(connectOnlyBad, binding: false), connectOnlyBad)
        }
    }
}
