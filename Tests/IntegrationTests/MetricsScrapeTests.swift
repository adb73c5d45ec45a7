import Foundation
import TestSupport
import XCTest

/// A real run scraped over HTTP while it trains, as Prometheus would: the coordinator's counters move, a worker
/// killed with SIGKILL shows up as a death, and a worker serves its own figures.
final class MetricsScrapeTests: XCTestCase {
    func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return false
    }

    func scrape(_ port: Int) -> [String: Double] {
        (try? HTTPScrape.get(port: port)).map { HTTPScrape.samples($0.body) } ?? [:]
    }

    func testCoordinatorAndWorkerMetricsMidRun() throws {
        let dir = try ProcessHarness.temporaryDirectory("metrics-scrape")
        let port = ProcessHarness.freePort()
        let metricsPort = ProcessHarness.freePort()
        let coordinator = try ProcessHarness.start("coordinator", [
            "--bind", "tcp://127.0.0.1:\(port)", "--workers", "2", "--epochs", "3", "--synthetic-users", "1500",
            "--synthetic-items", "800", "--batch-size", "256", "--minibatch-size", "128", "--negatives", "1024",
            "--dim", "32", "--heartbeat-timeout", "1", "--checkpoint-every", "10",
            "--output", dir.appendingPathComponent("run").path,
        ], logName: "coordinator", in: dir, environment: ["MBT_METRICS_ADDRESS": "127.0.0.1:\(metricsPort)"])
        var workers: [ProcessHarness.Running] = []
        var workerPorts: [Int] = []
        defer {
            for w in workers where w.process.isRunning { w.signal(SIGKILL) }
            if coordinator.process.isRunning { coordinator.signal(SIGKILL) }
        }
        func startWorker() throws {
            let metrics = ProcessHarness.freePort()
            workerPorts.append(metrics)
            workers.append(try ProcessHarness.start("worker", [
                "--coordinator", "tcp://127.0.0.1:\(port)", "--name", "w\(workers.count)", "--coordinator-timeout", "2",
                "--metrics-address", "127.0.0.1:\(metrics)",
            ], logName: "worker\(workers.count)", in: dir))
        }
        try startWorker()
        try startWorker()
        XCTAssertTrue(waitUntil(60) { (scrape(metricsPort)["mbt_steps_total"] ?? 0) >= 5 }, coordinator.log)
        let first = scrape(metricsPort)
        XCTAssertEqual(first["mbt_workers_ready"], 2)
        XCTAssertEqual(first["mbt_worker_deaths_total"], 0)
        XCTAssertGreaterThan(first[#"mbt_wire_bytes_total{direction="sent"}"#] ?? 0, 0)
        XCTAssertGreaterThan(first[#"mbt_wire_bytes_total{direction="received"}"#] ?? 0, 0)
        XCTAssertGreaterThan(first["mbt_examples_total"] ?? 0, 0)
        XCTAssertGreaterThan(first["mbt_loss"] ?? 0, 0)
        XCTAssertGreaterThan(first["mbt_step_seconds_count"] ?? 0, 0)
        XCTAssertNotNil(first["mbt_checkpoint_age_seconds"])
        usleep(500_000)
        let second = scrape(metricsPort)
        XCTAssertGreaterThan(second["mbt_steps_total"] ?? 0, first["mbt_steps_total"] ?? 0, "steps do not move")
        XCTAssertGreaterThan(second[#"mbt_wire_bytes_total{direction="sent"}"#] ?? 0,
                             first[#"mbt_wire_bytes_total{direction="sent"}"#] ?? 0)

        let worker = scrape(workerPorts[0])
        XCTAssertGreaterThan(worker["mbt_worker_minibatches_total"] ?? 0, 0, "worker metrics: \(worker)")
        XCTAssertEqual(worker["mbt_worker_training"], 1)

        workers[1].signal(SIGKILL)
        XCTAssertTrue(waitUntil(15) { scrape(metricsPort)["mbt_worker_deaths_total"] == 1 },
                      "the killed worker is not counted as a death: \(scrape(metricsPort))")
        XCTAssertTrue(waitUntil(5) { scrape(metricsPort)["mbt_workers_alive"] == 1 },
                      "2 workers alive of 3 after the death: \(scrape(metricsPort))")
        try startWorker()
        XCTAssertTrue(waitUntil(60) { (scrape(metricsPort)["mbt_recall{k=\"20\"}"] ?? 0) > 0 }, "no Recall@20 after an epoch")
        XCTAssertGreaterThan(scrape(metricsPort)["mbt_checkpoints_total"] ?? 0, 0)
        XCTAssertEqual(coordinator.wait(seconds: 240), 0, coordinator.log)
    }
}
