import Foundation
import TestSupport
import XCTest

/// SIGTERM and SIGINT as `docker stop`, Slurm preemption and Ctrl-C send them, to real processes: the coordinator
/// finishes the step in flight, checkpoints right after it, reports, says how to resume and exits 0; resumed, the
/// run ends with the same parameters as one never interrupted. A worker finishes its minibatches and leaves.
final class StopOnSignalTests: XCTestCase {
    /// Flags of every run here: synthetic data, checkpoints at epoch ends only (so that a checkpoint mid-epoch can
    /// only come from the stop), enough steps per epoch to stop in the middle of one.
    func flags(port: Int, output: URL) -> [String] {
        ["--bind", "tcp://127.0.0.1:\(port)", "--workers", "2", "--epochs", "2",
         "--synthetic-users", "1500", "--synthetic-items", "800", "--batch-size", "256", "--minibatch-size", "128",
         "--negatives", "1024", "--dim", "32", "--lr", "0.01", "--verify-replicas", "--heartbeat-timeout", "1",
         "--output", output.path, "--log-level", "info"]
    }

    struct Cluster {
        let dir: URL
        let port = ProcessHarness.freePort()
        var output: URL { dir.appendingPathComponent("run") }
        var workers: [ProcessHarness.Running] = []

        init(_ name: String) throws { dir = try ProcessHarness.temporaryDirectory(name) }

        mutating func startWorkers(_ count: Int) throws {
            for i in workers.count ..< workers.count + count {
                workers.append(try ProcessHarness.start("worker", ["--coordinator", "tcp://127.0.0.1:\(port)",
                                                                   "--name", "w\(i)", "--coordinator-timeout", "2"],
                                                        logName: "worker\(i)", in: dir))
            }
        }

        func stop() { for w in workers where w.process.isRunning { w.signal(SIGKILL) } }

        var metrics: [[String: Any]] {
            (try? ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))) ?? []
        }
    }

    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return false
    }

    /// The last `end` event of a run directory and its embeddings.
    func outcome(_ c: Cluster, log: String) throws -> (end: [String: Any], users: [Float], items: [Float]) {
        let end = try XCTUnwrap(c.metrics.last { $0["event"] as? String == "end" }, "no end event:\n\(log)")
        return (end, try ProcessHarness.readNpy(c.output.appendingPathComponent("user_embeddings.npy")).values,
                try ProcessHarness.readNpy(c.output.appendingPathComponent("item_embeddings.npy")).values)
    }

    func uninterrupted() throws -> (end: [String: Any], users: [Float], items: [Float]) {
        var c = try Cluster("stop-reference")
        defer { c.stop() }
        try c.startWorkers(2)
        let coordinator = try ProcessHarness.start("coordinator", flags(port: c.port, output: c.output),
                                                   logName: "coordinator", in: c.dir)
        XCTAssertEqual(coordinator.wait(seconds: 240), 0, coordinator.log)
        return try outcome(c, log: coordinator.log)
    }

    func testSIGTERMMidEpochCheckpointsThatStepAndResumesBitIdentical() throws {
        let reference = try uninterrupted()
        var c = try Cluster("stop-sigterm")
        defer { c.stop() }
        try c.startWorkers(2)
        let coordinator = try ProcessHarness.start("coordinator", flags(port: c.port, output: c.output),
                                                   logName: "coordinator", in: c.dir)
        XCTAssertTrue(waitUntil(60) { coordinator.log.contains("is ready at version") }, coordinator.log)
        usleep(600_000)
        XCTAssertFalse(c.metrics.contains { $0["event"] as? String == "epoch" }, "the first epoch ended too soon to stop in it")
        coordinator.signal(SIGTERM)
        XCTAssertEqual(coordinator.wait(seconds: 20), 0, "SIGTERM must end the coordinator with 0:\n\(coordinator.log)")

        let stopped = try XCTUnwrap(c.metrics.last { $0["event"] as? String == "stopped" }, "no stopped event")
        XCTAssertEqual(stopped["reason"] as? String, "SIGTERM")
        XCTAssertEqual(stopped["checkpoint"] as? Bool, true)
        let step = try XCTUnwrap(stopped["step"] as? Int)
        XCTAssertGreaterThan(step, 0)
        // The checkpoint is named after the step it resumes at: the one after the last applied.
        let name = "checkpoint-" + String(format: "%010d", step + 1) + ".mbt"
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.output.appendingPathComponent(name).path),
                      "\(name) missing: \((try? FileManager.default.contentsOfDirectory(atPath: c.output.path)) ?? [])")
        XCTAssertFalse(c.metrics.contains { $0["event"] as? String == "selection" }, "a stopped run chooses no epoch")
        XCTAssertEqual(c.metrics.last { $0["event"] as? String == "end" }?["stopped"] as? Bool, true)
        XCTAssertTrue(coordinator.log.contains("to resume: ") && coordinator.log.contains(" --resume"), coordinator.log)
        for w in c.workers { XCTAssertTrue(w.process.isRunning, "a stopped coordinator leaves its workers waiting") }

        // Resumed with the same workers; one of them is stopped with SIGTERM halfway and leaves cleanly.
        let resumed = try ProcessHarness.start("coordinator", flags(port: c.port, output: c.output) + ["--resume"],
                                               logName: "coordinator-resumed", in: c.dir)
        XCTAssertTrue(waitUntil(60) { resumed.log.contains("is ready at version") }, resumed.log)
        XCTAssertTrue(resumed.log.contains("step \(step + 1),"), "did not resume at step \(step + 1):\n\(resumed.log)")
        usleep(300_000)
        c.workers[1].signal(SIGTERM)
        XCTAssertEqual(c.workers[1].wait(seconds: 10), 0, "SIGTERM must end a worker with 0:\n\(c.workers[1].log)")
        XCTAssertTrue(c.workers[1].log.contains("SIGTERM: leaving after"), c.workers[1].log)
        try c.startWorkers(1)
        XCTAssertEqual(resumed.wait(seconds: 240), 0, resumed.log)

        let o = try outcome(c, log: resumed.log)
        for e in c.metrics where e["event"] as? String == "epoch" {
            XCTAssertEqual(e["audit_exact"] as? Bool, true, "audit of \(e)")
        }
        XCTAssertEqual(c.metrics.filter { $0["event"] as? String == "epoch" }.count, 2)
        XCTAssertEqual(o.end["replica_mismatches"] as? Int, 0)
        XCTAssertEqual(o.end["final_hash"] as? String, reference.end["final_hash"] as? String,
                       "the stopped and resumed run ends with other parameters than the uninterrupted one")
        XCTAssertEqual(o.users, reference.users)
        XCTAssertEqual(o.items, reference.items)
    }

    /// A coordinator training with 2 workers that are then frozen (SIGSTOP): its step in flight cannot finish.
    func stalledCluster(_ name: String) throws -> (Cluster, ProcessHarness.Running) {
        var c = try Cluster(name)
        try c.startWorkers(2)
        let coordinator = try ProcessHarness.start("coordinator", flags(port: c.port, output: c.output),
                                                   logName: "coordinator", in: c.dir)
        // Both workers ready (a step is in flight once they are), not only the first.
        XCTAssertTrue(waitUntil(60) { coordinator.log.components(separatedBy: "is ready at version").count - 1 >= 2 },
                      coordinator.log)
        usleep(400_000)
        for w in c.workers { w.signal(SIGSTOP) }
        return (c, coordinator)
    }

    func testASecondSignalExitsAtOnce() throws {
        let (c, coordinator) = try stalledCluster("stop-twice")
        defer { c.workers.forEach { $0.signal(SIGCONT) }; c.stop() }
        coordinator.signal(SIGTERM)
        XCTAssertTrue(waitUntil(5) { coordinator.log.contains("SIGTERM received") }, coordinator.log)
        XCTAssertTrue(coordinator.process.isRunning, "the first signal waits for the step in flight")
        coordinator.signal(SIGTERM)
        XCTAssertEqual(coordinator.wait(seconds: 3), 128 + SIGTERM, coordinator.log)
        XCTAssertTrue(coordinator.log.contains("exiting at once"), coordinator.log)
    }

    func testAStepThatCannotFinishStopsAtTheStepBeforeItWithinTheGracePeriod() throws {
        let (c, coordinator) = try stalledCluster("stop-stalled")
        defer { c.workers.forEach { $0.signal(SIGCONT) }; c.stop() }
        let signalled = Date()
        coordinator.signal(SIGTERM)
        XCTAssertEqual(coordinator.wait(seconds: 15), 0, coordinator.log)
        let seconds = Date().timeIntervalSince(signalled)
        XCTAssertGreaterThanOrEqual(seconds, 4.5, "stopped before the grace period")
        XCTAssertLessThan(seconds, 9, "must end within docker stop's 10 s")
        XCTAssertTrue(coordinator.log.contains("did not finish within 5 s"), coordinator.log)
        let stopped = try XCTUnwrap(c.metrics.last { $0["event"] as? String == "stopped" })
        let step = try XCTUnwrap(stopped["step"] as? Int)
        XCTAssertGreaterThan(step, 0)
        XCTAssertEqual(stopped["checkpoint"] as? Bool, true)
        let name = "checkpoint-" + String(format: "%010d", step + 1) + ".mbt"
        XCTAssertTrue(FileManager.default.fileExists(atPath: c.output.appendingPathComponent(name).path), name)
    }

    func testSIGINTWhileWaitingForWorkersExitsCleanlyWithoutACheckpoint() throws {
        let c = try Cluster("stop-waiting")
        defer { c.stop() }
        let coordinator = try ProcessHarness.start("coordinator", flags(port: c.port, output: c.output),
                                                   logName: "coordinator", in: c.dir)
        XCTAssertTrue(waitUntil(60) { coordinator.log.contains("listening") }, coordinator.log)
        coordinator.signal(SIGINT)
        XCTAssertEqual(coordinator.wait(seconds: 10), 0, coordinator.log)
        let stopped = try XCTUnwrap(c.metrics.last { $0["event"] as? String == "stopped" })
        XCTAssertEqual(stopped["step"] as? Int, 0)
        XCTAssertEqual(stopped["checkpoint"] as? Bool, false)
        XCTAssertFalse(((try? FileManager.default.contentsOfDirectory(atPath: c.output.path)) ?? []).contains { $0.hasSuffix(".mbt") })
    }
}
