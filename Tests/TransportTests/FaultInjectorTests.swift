import XCTest
import Transport
import Wire
import TestSupport

/// The injector is a pure state machine: these tests need no sockets and no sleeps.
final class FaultInjectorTests: XCTestCase {
    private func message(_ sequence: UInt64) -> OutgoingMessage {
        let (header, payload) = WireCodec.encode(Envelope(sender: 1, sequence: sequence, message: .heartbeat(version: sequence)))
        return OutgoingMessage(peer: nil, header: header, payload: payload)
    }

    private func sequence(of m: OutgoingMessage) -> UInt64 { try! WireCodec.decode(header: m.header, payload: m.payload).sequence }

    /// Offers messages 0..<n at 1 ms intervals, then drains delayed ones far in the future.
    private func run(_ settings: FaultSettings, count n: Int = 200) -> (sent: [OutgoingMessage], counters: FaultCounters) {
        var injector = FaultInjector(settings)
        var sent: [OutgoingMessage] = []
        for k in 0..<n { sent += injector.outgoing(message(UInt64(k)), now: UInt64(k)) }
        sent += injector.due(now: .max)
        sent += injector.outgoing(message(UInt64(n)), now: .max)  // releases anything held for reordering
        return (sent, injector.counters)
    }

    func testNoFaultsPassesEverythingThroughInOrder() {
        let (sent, counters) = run(.none, count: 50)
        XCTAssertEqual(sent.map(sequence(of:)), Array(0...50))
        XCTAssertEqual(counters.offered, 51)
        XCTAssertEqual(counters.dropped + counters.duplicated + counters.delayed + counters.reordered + counters.corrupted, 0)
    }

    func testDropAll() {
        let (sent, counters) = run(FaultSettings(drop: 1), count: 20)
        XCTAssertTrue(sent.isEmpty)
        XCTAssertEqual(counters.dropped, 21)
    }

    func testDuplicateAll() {
        let (sent, counters) = run(FaultSettings(duplicate: 1), count: 5)
        XCTAssertEqual(sent.map(sequence(of:)), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        XCTAssertEqual(counters.duplicated, 6)
    }

    func testDelayHoldsUntilDue() {
        var injector = FaultInjector(FaultSettings(delay: 1, delayMilliseconds: 100))
        XCTAssertEqual(injector.outgoing(message(1), now: 1_000), [])
        XCTAssertEqual(injector.due(now: 1_099), [])
        XCTAssertEqual(injector.heldCount, 1)
        XCTAssertEqual(injector.due(now: 1_100).map(sequence(of:)), [1])
        XCTAssertEqual(injector.heldCount, 0)
        XCTAssertEqual(injector.counters.delayed, 1)
    }

    func testReorderSendsAHeldMessageAfterTheNextOne() {
        let (sent, counters) = run(FaultSettings(reorder: 0.3, seed: 11), count: 100)
        let order = sent.map(sequence(of:))
        XCTAssertEqual(order.sorted(), Array(0...100), "nothing lost or duplicated")
        XCTAssertGreaterThan(counters.reordered, 10)
        XCTAssertNotEqual(order, Array(0...100), "some messages overtaken")
    }

    /// Corruption happens after the CRC was computed, and always where the decoder looks.
    func testEveryCorruptedMessageIsCaughtByTheDecoder() {
        var injector = FaultInjector(FaultSettings(corrupt: 1, seed: 3))
        for envelope in Array(repeating: WireSamples.all, count: 30).joined() {
            let (header, payload) = WireCodec.encode(envelope)
            let out = injector.outgoing(OutgoingMessage(peer: PeerID([9]), header: header, payload: payload), now: 0)
            XCTAssertEqual(out.count, 1)
            XCTAssertEqual(out[0].peer, PeerID([9]))
            XCTAssertThrowsError(try WireCodec.decode(header: out[0].header, payload: out[0].payload), "\(envelope.message.name)")
        }
        XCTAssertEqual(injector.counters.corrupted, 30 * WireSamples.all.count)
    }

    func testSameSeedSameFaultsDifferentSeedDifferentFaults() {
        let settings = FaultSettings(drop: 0.1, duplicate: 0.1, delay: 0.1, reorder: 0.1, corrupt: 0.1, delayMilliseconds: 5, seed: 7)
        let a = run(settings), b = run(settings)
        XCTAssertEqual(a.sent, b.sent)
        XCTAssertEqual(a.counters, b.counters)
        var other = settings
        other.seed = 8
        XCTAssertNotEqual(run(other).sent, a.sent)
        XCTAssertGreaterThan(a.counters.dropped, 0)
        XCTAssertGreaterThan(a.counters.delayed, 0)
    }
}
