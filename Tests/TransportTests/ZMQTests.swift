import XCTest
@testable import Transport

final class ZMQTests: XCTestCase {
    func testVersionAndCurve() throws {
        XCTAssertGreaterThanOrEqual(ZMQ.version.major, 4)
        guard ZMQ.has("curve") else {
            return XCTFail("libzmq \(ZMQ.version.major).\(ZMQ.version.minor).\(ZMQ.version.patch) was built without CURVE, which this project requires")
        }
        let (publicKey, secretKey) = try ZMQ.curveKeypair()
        XCTAssertEqual(publicKey.count, 40)
        XCTAssertEqual(secretKey.count, 40)
        XCTAssertEqual(try ZMQ.curvePublicKey(secretKey: secretKey), publicKey)
        XCTAssertEqual(try ZMQ.z85Decode(publicKey).count, 32)
    }

    func testZ85() throws {
        // The test vector of the Z85 specification (ZeroMQ RFC 32).
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        XCTAssertEqual(try ZMQ.z85Encode(bytes), "HelloWorld")
        XCTAssertEqual(try ZMQ.z85Decode("HelloWorld"), bytes)
        XCTAssertThrowsError(try ZMQ.z85Encode([1, 2, 3])) { XCTAssertEqual(($0 as? ZMQError)?.function, "zmq_z85_encode") }
        XCTAssertThrowsError(try ZMQ.z85Decode("abcd"))
    }

    func testFailuresCarryFunctionErrnoAndText() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .router)
        defer { socket.close(); context.terminate() }
        XCTAssertThrowsError(try socket.bind("tcp://256.0.0.1:1")) { error in
            guard let error = error as? ZMQError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.function, "zmq_bind(tcp://256.0.0.1:1)")
            XCTAssertNotEqual(error.errno, 0)
            XCTAssertFalse(error.message.isEmpty)
            XCTAssertTrue(error.description.hasPrefix("zmq_bind(tcp://256.0.0.1:1) failed: "), error.description)
        }
    }

    func testSocketOptionsAndLastEndpoint() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, kind: .router)
        defer { socket.close(); context.terminate() }
        try socket.set(.routerMandatory, 1)
        try socket.setMaxMessageSize(1 << 20)
        try socket.set(.routingID, [1, 2, 3])
        try socket.bind("tcp://127.0.0.1:0")
        let endpoint = try socket.lastEndpoint()
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        XCTAssertNotEqual(endpoint, "tcp://127.0.0.1:0")
        XCTAssertFalse(try socket.waitReadable(timeoutMilliseconds: 0))
        XCTAssertNil(try socket.receive(keep: 4))
    }
}
