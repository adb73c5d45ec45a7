import XCTest
import Logging
import Transport
import Wire
import TestSupport

/// Fault injection on a real ROUTER → DEALER connection. The connection is established first with a clean HELLO
/// from the dealer, so that every loss below is the injector's doing.
final class FaultInjectionOverSocketsTests: XCTestCase {
    private let logger = Logger(label: "fault-tests") { _ in SwiftLogNoOpLogHandler() }
    private let limit = 1 << 20

    private func pair(_ faults: String) throws -> (router: RouterEndpoint, dealer: DealerEndpoint, peer: PeerID) {
        let router = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: limit, logger: logger,
                                        options: EndpointOptions(faults: try FaultSettings(parsing: faults)))
        let dealer = try DealerEndpoint(connect: router.boundEndpoint, maxMessageBytes: limit, logger: logger)
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            try dealer.send(WireSamples.hello)
            if case .message(let peer, _)? = try router.receive(timeoutMilliseconds: 50) { return (router, dealer, peer) }
        }
        XCTFail("no HELLO from the dealer reached the router on \(router.boundEndpoint) within 2 s")
        dealer.close()
        router.close()
        throw TestFailure("no connection within 2 s")
    }

    private func messages(_ count: Int) -> [Envelope] {
        (0..<count).map { Envelope(sender: 0, sequence: UInt64($0), message: .heartbeat(version: UInt64($0))) }
    }

    private func drain(_ dealer: DealerEndpoint) throws -> [Received] {
        var got: [Received] = []
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline, let r = try dealer.receive(timeoutMilliseconds: 200) { got.append(r) }
        return got
    }

    func testDropAllDeliversNothing() throws {
        let (router, dealer, peer) = try pair("drop=1")
        defer { dealer.close(); router.close() }
        for m in messages(10) { XCTAssertTrue(try router.send(m, to: peer)) }
        XCTAssertEqual(try drain(dealer), [])
        XCTAssertEqual(router.faultCounters.dropped, 10)
    }

    func testDuplicateAllDeliversEachTwice() throws {
        let (router, dealer, peer) = try pair("duplicate=1")
        defer { dealer.close(); router.close() }
        for m in messages(5) { try router.send(m, to: peer) }
        let expected = messages(5).flatMap { [Received.message(.server, $0), .message(.server, $0)] }
        XCTAssertEqual(try drain(dealer), expected)
        XCTAssertEqual(router.faultCounters.duplicated, 5)
    }

    func testCorruptAllIsReportedMalformed() throws {
        let (router, dealer, peer) = try pair("corrupt=1,seed=5")
        defer { dealer.close(); router.close() }
        for m in messages(20) + WireSamples.all { try router.send(m, to: peer) }
        let got = try drain(dealer)
        XCTAssertEqual(got.count, 20 + WireSamples.all.count)
        for r in got {
            guard case .malformed(_, let error) = r else { return XCTFail("corrupted message accepted: \(r)") }
            switch error {
            case .checksumMismatch, .badMagic, .unsupportedVersion, .reservedFlags, .lengthMismatch: break
            default: XCTFail("unexpected error \(error)")
            }
        }
        XCTAssertEqual(router.faultCounters.corrupted, 20 + WireSamples.all.count)
    }

    func testDelayedMessageIsSentByALaterCall() throws {
        let (router, dealer, peer) = try pair("delay=1,delayms=100")
        defer { dealer.close(); router.close() }
        try router.send(WireSamples.heartbeat, to: peer)
        XCTAssertNil(try dealer.receive(timeoutMilliseconds: 50))
        _ = try router.receive(timeoutMilliseconds: 120)  // time passes on the sender
        _ = try router.receive(timeoutMilliseconds: 0)  // the first call after the delay releases it
        XCTAssertEqual(try dealer.receive(timeoutMilliseconds: 2000), .message(.server, WireSamples.heartbeat))
        XCTAssertEqual(router.faultCounters.delayed, 1)
    }

    /// The same seed drops the same messages on the wire as the pure injector predicts.
    func testSocketRunMatchesTheSeededPlan() throws {
        let faults = "drop=0.5,seed=7"
        var plan = FaultInjector(try FaultSettings(parsing: faults))
        let sent = messages(40)
        let survivors = sent.filter { m in
            let (h, p) = WireCodec.encode(m)
            return !plan.outgoing(OutgoingMessage(peer: nil, header: h, payload: p), now: 0).isEmpty
        }
        XCTAssertGreaterThan(survivors.count, 5)
        XCTAssertLessThan(survivors.count, 35)
        for _ in 0..<2 {
            let (router, dealer, peer) = try pair(faults)
            defer { dealer.close(); router.close() }
            for m in sent { try router.send(m, to: peer) }
            XCTAssertEqual(try drain(dealer), survivors.map { .message(.server, $0) })
        }
    }
}
