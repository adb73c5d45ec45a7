import Foundation
import Logging
import TestSupport
import Transport
import Wire
@testable import Worker
import XCTest

/// The worker's shell over `InMemoryNetwork` with a `ManualClock`: no socket, no waiting for real seconds.
final class WorkerClientTests: XCTestCase {
    static let quiet = Logger(label: "worker") { _ in SwiftLogNoOpLogHandler() }

    static func client(_ dealer: InMemoryNetwork.Dealer, clock: ManualClock, giveUpAfter: Double? = nil) throws
        -> WorkerClient
    {
        var settings = WorkerSettings(coordinator: "inmemory://coordinator", name: "w")
        settings.giveUpAfter = giveUpAfter
        return try WorkerClient(settings: settings, logger: Self.quiet, transport: dealer, clock: clock)
    }

    /// The give-up limit is read on the injected clock: 60 s of it pass in a fraction of a real second.
    func testAWorkerWithoutACoordinatorGivesUpAfterItsLimit() throws {
        let network = InMemoryNetwork()   // no router: nobody answers
        let clock = ManualClock(step: 1)
        let started = Date()
        XCTAssertThrowsError(try Self.client(network.dealer(), clock: clock, giveUpAfter: 60).run()) { error in
            XCTAssertTrue("\(error)".contains("giving up"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    /// HELLO goes out; SHUTDOWN ends the run with the coordinator's reason and exit code 0.
    func testAWorkerSaysHelloAndStopsWhenToldTo() throws {
        let network = InMemoryNetwork()
        let router = network.router()
        let dealer = network.dealer()
        let done = expectation(description: "the worker's run ends")
        nonisolated(unsafe) var report: WorkerReport?
        Thread {
            report = try? Self.client(dealer, clock: ManualClock(step: 0.001)).run()
            done.fulfill()
        }.start()
        guard case let .message(peer, envelope)? = try router.receive(timeoutMilliseconds: 5000),
              case let .hello(_, replicaVersion, runId, name) = envelope.message else {
            return XCTFail("no HELLO from the worker")
        }
        XCTAssertEqual(peer, dealer.peer)
        XCTAssertEqual(name, "w")
        XCTAssertEqual(runId, 0, "a new worker knows no run")
        XCTAssertEqual(replicaVersion, 0, "and holds no replica")
        try router.send(Envelope(sender: 0, sequence: 1, message: .shutdown(.finished, "training finished")), to: peer)
        wait(for: [done], timeout: 10)
        XCTAssertEqual(report?.exitCode, 0)
        XCTAssertEqual(report?.reason, "training finished")
        XCTAssertEqual(report?.tasksComputed, 0)
    }
}
