import XCTest
import Logging
@testable import Transport
import Wire
import TestSupport

/// Real sockets on 127.0.0.1 with ephemeral ports. Every wait is bounded (≤ 2 s).
final class RouterDealerTests: XCTestCase {
    private let logger = Logger(label: "transport-tests") { _ in SwiftLogNoOpLogHandler() }
    private let limit = 1 << 20

    // MARK: Helpers

    /// Sends `envelope` from the dealer every 50 ms until the router gets a message (at most 2 s); returns it.
    private func sendUntilReceived(_ envelope: Envelope, from dealer: DealerEndpoint, to router: RouterEndpoint,
                                   file: StaticString = #filePath, line: UInt = #line) throws -> Received? {
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            try dealer.send(envelope)
            if let got = try router.receive(timeoutMilliseconds: 50) { return got }
        }
        XCTFail("nothing arrived within 2 s", file: file, line: line)
        return nil
    }

    /// Everything that arrives until `quietMilliseconds` pass without a message (bounded by 2 s overall).
    private func drain(_ receive: (Int) throws -> Received?, quietMilliseconds: Int = 200) rethrows -> [Received] {
        var got: [Received] = []
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline, let r = try receive(quietMilliseconds) { got.append(r) }
        return got
    }

    private func connectedPair(routerOptions: EndpointOptions = EndpointOptions(), routerLimit: Int? = nil) throws
        -> (router: RouterEndpoint, dealer: DealerEndpoint, peer: PeerID) {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: routerLimit ?? limit, logger: logger, options: routerOptions)
        let dealer = try DealerEndpoint(connect: router.boundEndpoint, maxMessageBytes: limit, logger: logger)
        guard case .message(let peer, let envelope)? = try sendUntilReceived(WireSamples.hello, from: dealer, to: router) else {
            XCTFail("no HELLO from the dealer reached the router on \(router.boundEndpoint) within 2 s")
            dealer.close()
            router.close()
            throw TestFailure("no connection")
        }
        XCTAssertEqual(envelope, WireSamples.hello)
        XCTAssertEqual(peer, dealer.routingID)
        return (router, dealer, peer)
    }

    // MARK: Tests

    func testBoundEndpointHasTheRealPort() throws {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger)
        defer { router.close() }
        XCTAssertTrue(router.boundEndpoint.hasPrefix("tcp://127.0.0.1:"))
        XCTAssertNotEqual(router.boundEndpoint, "tcp://127.0.0.1:0")
    }

    func testRoundTripOfEveryMessageBothWays() throws {
        let (router, dealer, peer) = try connectedPair()
        defer { dealer.close(); router.close() }
        let big = WireSamples.bigStep(rows: 500, dim: 32, tasks: 4, pairs: 512)
        for envelope in WireSamples.all + [big] { XCTAssertTrue(try router.send(envelope, to: peer)) }
        XCTAssertEqual(try drain(dealer.receive), (WireSamples.all + [big]).map { .message(.server, $0) })
        for envelope in WireSamples.all { XCTAssertTrue(try dealer.send(envelope)) }
        XCTAssertEqual(try drain(router.receive), WireSamples.all.map { .message(peer, $0) })
    }

    func testTrafficCountersCountHeaderAndPayloadBytesExactly() throws {
        let (router, dealer, peer) = try connectedPair()
        defer { dealer.close(); router.close() }
        // connectedPair may have sent HELLO more than once: let the extra copies arrive before counting.
        _ = try drain(router.receive)
        XCTAssertEqual(router.traffic.messagesReceived, dealer.traffic.messagesSent)
        XCTAssertEqual(router.traffic.bytesReceived, dealer.traffic.bytesSent)
        let (routerBefore, dealerBefore) = (router.traffic, dealer.traffic)

        let down = [WireSamples.bigStep(rows: 500, dim: 32, tasks: 4, pairs: 512), WireSamples.hello]
        let up = [WireSamples.hello]
        // The bytes of each message on the wire: a 32-byte header and its payload (the routing id is not counted).
        func bytes(_ envelopes: [Envelope]) -> Int {
            envelopes.reduce(0) { total, envelope in
                let (header, payload) = WireCodec.encode(envelope)
                XCTAssertEqual(header.count, 32)
                return total + header.count + payload.count
            }
        }
        // Three blocks of 500 rows × (32 floats + an id) dominate the STEP.
        XCTAssertGreaterThan(bytes(down), 3 * 500 * 33 * 4)
        for envelope in down { XCTAssertTrue(try router.send(envelope, to: peer)) }
        XCTAssertEqual(try drain(dealer.receive).count, down.count)
        for envelope in up { XCTAssertTrue(try dealer.send(envelope)) }
        XCTAssertEqual(try drain(router.receive).count, up.count)

        XCTAssertEqual(router.traffic.messagesSent - routerBefore.messagesSent, down.count)
        XCTAssertEqual(router.traffic.bytesSent - routerBefore.bytesSent, bytes(down))
        XCTAssertEqual(dealer.traffic.messagesReceived - dealerBefore.messagesReceived, down.count)
        XCTAssertEqual(dealer.traffic.bytesReceived - dealerBefore.bytesReceived, bytes(down))
        XCTAssertEqual(dealer.traffic.bytesSent - dealerBefore.bytesSent, bytes(up))
        XCTAssertEqual(router.traffic.bytesReceived - routerBefore.bytesReceived, bytes(up))
        XCTAssertEqual(router.traffic.messagesReceived - routerBefore.messagesReceived, up.count)
        XCTAssertEqual(router.traffic.bytesReceived, dealer.traffic.bytesSent)
        XCTAssertEqual(dealer.traffic.bytesReceived, router.traffic.bytesSent)
    }

    func testDealerStartedBeforeTheRouterGetsThroughOnceItBinds() throws {
        // Learn a free port, release it, and connect a dealer to it before anyone listens.
        let probe = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger)
        let address = probe.boundEndpoint
        probe.close()
        let dealer = try DealerEndpoint(connect: address, maxMessageBytes: limit, logger: logger)
        defer { dealer.close() }
        XCTAssertFalse(try dealer.send(WireSamples.hello), "no connection yet: not queued")
        XCTAssertNil(try dealer.receive(timeoutMilliseconds: 100))

        let router = try RouterEndpoint(bind: address, maxMessageBytes: limit, logger: logger)
        defer { router.close() }
        guard case .message(let peer, let envelope)? = try sendUntilReceived(WireSamples.hello, from: dealer, to: router) else { return }
        XCTAssertEqual(envelope, WireSamples.hello)
        XCTAssertTrue(try router.send(WireSamples.welcome, to: peer))
        XCTAssertEqual(try dealer.receive(timeoutMilliseconds: 2000), .message(.server, WireSamples.welcome))
    }

    func testSendingToAnUnknownPeerReturnsFalse() throws {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger)
        defer { router.close() }
        XCTAssertFalse(try router.send(WireSamples.heartbeat, to: PeerID([1, 2, 3])))
    }

    func testMalformedFramesAtTheRouterAreReportedNotFatal() throws {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger)
        let context = try ZMQContext()
        let raw = try ZMQSocket(context: context, kind: .dealer)
        defer { raw.close(); context.terminate(); router.close() }
        try raw.set(.routingID, [7, 7])
        try raw.connect(router.boundEndpoint)

        let (header, payload) = WireCodec.encode(WireSamples.heartbeat)
        var corrupted = payload
        corrupted[0] ^= 1
        let sends: [[[UInt8]]] = [
            [Array("garbage".utf8)],
            [header, payload, [1]],
            [[1, 2, 3, 4, 5], []],
            [header, corrupted],
            Array(repeating: [0], count: 50),
            [header, payload],
        ]
        for frames in sends { XCTAssertEqual(try raw.send(frames), .sent) }
        let peer = PeerID([7, 7])
        let expected: [Received] = [
            .malformed(peer, .badFrameCount(1)),
            .malformed(peer, .badFrameCount(3)),
            .malformed(peer, .badHeaderLength(5)),
            .malformed(peer, .checksumMismatch(declared: CRC32C.checksum(payload), computed: CRC32C.checksum(corrupted))),
            .malformed(peer, .badFrameCount(50)),
            .message(peer, WireSamples.heartbeat),
        ]
        XCTAssertEqual(try drain(router.receive), expected)
    }

    func testMalformedFramesAtTheDealerAreReportedNotFatal() throws {
        let context = try ZMQContext()
        let raw = try ZMQSocket(context: context, kind: .router)
        defer { raw.close(); context.terminate() }
        try raw.bind("tcp://127.0.0.1:0")
        let dealer = try DealerEndpoint(connect: try raw.lastEndpoint(), maxMessageBytes: limit, logger: logger)
        defer { dealer.close() }
        var first: [[UInt8]]?
        let deadline = ContinuousClock.now + .seconds(2)
        while first == nil && ContinuousClock.now < deadline {
            try dealer.send(WireSamples.hello)
            if try raw.waitReadable(timeoutMilliseconds: 50) { first = try raw.receive(keep: 4)?.frames }
        }
        let id = try XCTUnwrap(first?.first)
        XCTAssertEqual(PeerID(id), dealer.routingID)
        XCTAssertEqual(try raw.send([id, Array("junk".utf8)]), .sent)
        XCTAssertEqual(try raw.send([id, Array(repeating: 0, count: 32), []]), .sent)
        XCTAssertEqual(try dealer.receive(timeoutMilliseconds: 2000), .malformed(.server, .badFrameCount(1)))
        XCTAssertEqual(try dealer.receive(timeoutMilliseconds: 2000), .malformed(.server, .badMagic(0)))
    }

    /// libzmq disconnects a peer that sends a frame over ZMQ_MAXMSGSIZE; the dealer reconnects by itself and a
    /// normal message afterwards gets through.
    func testOversizedMessageIsDroppedAndTheConnectionRecovers() throws {
        let (router, dealer, _) = try connectedPair(routerLimit: 4096)
        defer { dealer.close(); router.close() }
        let oversized = WireSamples.bigStep(rows: 100, dim: 16, tasks: 1, pairs: 10)
        XCTAssertGreaterThan(WireCodec.encode(oversized).payload.count, 4096)
        XCTAssertTrue(try dealer.send(oversized))
        XCTAssertNil(try router.receive(timeoutMilliseconds: 300), "the oversized message must not arrive")
        let after = try sendUntilReceived(WireSamples.heartbeat, from: dealer, to: router)
        guard case .message(_, let envelope)? = after else { return XCTFail("\(String(describing: after))") }
        XCTAssertEqual(envelope, WireSamples.heartbeat)
    }

    func testClosedEndpointThrowsClosed() throws {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger)
        router.close()
        router.close()
        XCTAssertThrowsError(try router.receive(timeoutMilliseconds: 0)) { XCTAssertEqual($0 as? TransportError, .closed) }
        XCTAssertThrowsError(try router.send(WireSamples.heartbeat, to: PeerID([1]))) { XCTAssertEqual($0 as? TransportError, .closed) }
    }

    func testBadEndpointIsAClearError() {
        XCTAssertThrowsError(try DealerEndpoint(connect: "localhost:5555", maxMessageBytes: limit, logger: logger)) { error in
            XCTAssertEqual("\(error)", "tcp://HOST:PORT expected, got \"localhost:5555\"")
        }
        XCTAssertThrowsError(try RouterEndpoint(bind: "tcp://127.0.0.1", maxMessageBytes: limit, logger: logger))
    }

    func testBindingAPortInUseNamesTheCall() throws {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger)
        defer { router.close() }
        XCTAssertThrowsError(try RouterEndpoint(bind: router.boundEndpoint, maxMessageBytes: limit, logger: logger)) { error in
            guard case .zmq(let z)? = error as? TransportError else { return XCTFail("\(error)") }
            XCTAssertTrue(z.function.hasPrefix("zmq_bind("), z.function)
        }
    }
}
