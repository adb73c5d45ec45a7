import Coordinator
import Dataset
import Foundation
import Kernels
import Logging
import TestSupport
import Transport
import Worker
import XCTest

/// `CoordinatorServer` and `WorkerClient` in one process over `InMemoryNetwork`: no socket, no process. The
/// settings are those of `PinnedRunTests`' command line, so a whole run here must give its pinned tables.
final class InMemoryRunTests: XCTestCase {
    static let quiet = Logger(label: "in-memory") { _ in SwiftLogNoOpLogHandler() }

    override func setUpWithError() throws {
        // The executables' default (`--blas auto`), so that the tables are those of the pinned process run.
        try BLAS.select(.automatic)
    }

    override func tearDown() {
        try? BLAS.select(.system)
    }

    static let data = DatasetLoader.synthetic(SyntheticSpec(users: 300, items: 200, seed: 7))

    func settings(output: URL, epochs: Int = 2, workers: Int = 1) -> CoordinatorSettings {
        var s = CoordinatorSettings()
        s.minimumWorkers = workers
        s.epochs = epochs
        s.dim = 16
        s.batchSize = 512
        s.minibatchSize = 256
        s.loss.negatives = 128
        s.seed = 7
        s.outputDirectory = output.path
        s.verifyReplicas = true
        s.timings = ProtocolTimings(heartbeatInterval: 0.1, deadAfter: 0.6)
        return s
    }

    /// Starts a worker on its own thread; `done` is signalled when its run ends (by SHUTDOWN or by its death).
    func startWorker(_ dealer: InMemoryNetwork.Dealer, name: String, done: XCTestExpectation) {
        let thread = Thread {
            do {
                let timings = WorkerMachine.Timings(heartbeatInterval: 0.1, coordinatorTimeout: 1, helloInterval: 0.05)
                let client = try WorkerClient(settings: WorkerSettings(coordinator: "inmemory://coordinator", name: name,
                                                                       timings: timings),
                                              logger: Self.quiet, transport: dealer)
                _ = try client.run()
            } catch {}
            done.fulfill()
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    /// A whole run: the coordinator on this thread, `dealers` as its workers.
    func train(_ settings: CoordinatorSettings, network: InMemoryNetwork,
               dealers: [InMemoryNetwork.Dealer]) throws -> RunSummary {
        let router = network.router()
        let server = try CoordinatorServer(settings: settings, data: Self.data, logger: Self.quiet, transport: router)
        let done = dealers.enumerated().map { i, dealer in
            let e = expectation(description: "worker \(i) ends")
            startWorker(dealer, name: "w\(i)", done: e)
            return e
        }
        let summary = try server.run()
        wait(for: done, timeout: 30)
        return summary
    }

    func epochLines(_ output: URL) throws -> [[String: Any]] {
        try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
            .filter { $0["event"] as? String == "epoch" }
    }

    func testAWholeRunInOneProcessGivesThePinnedTables() throws {
        let output = try ProcessHarness.temporaryDirectory("in-memory-run")
        let network = InMemoryNetwork()
        let summary = try train(settings(output: output), network: network, dealers: [network.dealer()])
        XCTAssertEqual(try PinnedRunTests.tablesHash(output), PinnedRunTests.pinnedHash,
                       "the in-memory run's tables differ from the pinned process run's")
        XCTAssertEqual(summary.epochs.count, 2)
        XCTAssertTrue(summary.epochs.allSatisfy(\.auditExact))
        XCTAssertEqual(summary.replicaMismatches, 0)
        XCTAssertEqual(try epochLines(output).map { $0["epoch"] as? Int }, [1, 2])
    }

    func testAWorkerThatDiesHasItsMinibatchesReassignedAndTheRunEndsWithTheSameTables() throws {
        let reference = try ProcessHarness.temporaryDirectory("in-memory-reference")
        let network = InMemoryNetwork()
        let clean = try train(settings(output: reference), network: network, dealers: [network.dealer()])

        let output = try ProcessHarness.temporaryDirectory("in-memory-death")
        let faulty = InMemoryNetwork()
        let summary = try train(settings(output: output, workers: 2), network: faulty,
                                dealers: [faulty.dealer(), faulty.dealer(diesAtStep: 3)])
        XCTAssertEqual(summary.membersLost, 1)
        XCTAssertTrue(summary.epochs.allSatisfy(\.auditExact))
        XCTAssertEqual(summary.finalHash, clean.finalHash, "a death changed the parameters")
        let lost = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
            .filter { $0["event"] as? String == "member_lost" }
        XCTAssertEqual(lost.count, 1)
        XCTAssertGreaterThan(lost.first?["reassigned"] as? Int ?? 0, 0, "the dead worker's tasks went to the other")
    }

    /// The coordinator died after epoch 1's checkpoint and before its evaluation was recorded: the resumed run
    /// evaluates epoch 1 from that checkpoint, so `metrics.jsonl` has every epoch, and trains on to the tables of an
    /// uninterrupted run.
    func testAnEpochWhoseFiguresWereLostIsEvaluatedOnResume() throws {
        let output = try ProcessHarness.temporaryDirectory("in-memory-resume")
        let network = InMemoryNetwork()
        _ = try train(settings(output: output, epochs: 1), network: network, dealers: [network.dealer()])
        let uninterrupted = try epochLines(output).first
        let metrics = output.appendingPathComponent("metrics.jsonl")
        let kept = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n")
            .filter { !$0.contains("\"event\":\"epoch\"") && !$0.contains("\"event\":\"end\"") }
        try (kept.joined(separator: "\n") + "\n").write(to: metrics, atomically: true, encoding: .utf8)
        XCTAssertEqual(try epochLines(output).count, 0)

        var resumed = settings(output: output, epochs: 2)
        resumed.resume = true
        let summary = try train(resumed, network: network, dealers: [network.dealer()])
        let epochs = try epochLines(output)
        XCTAssertEqual(epochs.map { $0["epoch"] as? Int }, [1, 2])
        XCTAssertEqual(epochs.first?["recovered"] as? Bool, true)
        XCTAssertTrue(epochs.first?["loss"] is NSNull, "the lost loss is not made up")
        XCTAssertEqual(epochs.first?["audit_exact"] as? Bool, true)
        XCTAssertEqual(epochs.first?["recall@20"] as? Double, uninterrupted?["recall@20"] as? Double,
                       "epoch 1 evaluated from its checkpoint scores as it did before the restart")
        XCTAssertNil(epochs.last?["recovered"])
        XCTAssertEqual(try PinnedRunTests.tablesHash(output), PinnedRunTests.pinnedHash)
        XCTAssertEqual(summary.selection.lastEpoch, 2)
    }
}
