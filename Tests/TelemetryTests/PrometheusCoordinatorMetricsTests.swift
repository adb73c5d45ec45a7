import Coordinator
import Telemetry
import TestSupport
import Transport
import XCTest

/// The coordinator's metrics served over real HTTP on 127.0.0.1 and read back as a scraper reads them.
final class PrometheusCoordinatorMetricsTests: XCTestCase {
    func scrape(_ endpoint: MetricsEndpoint) throws -> [String: Double] {
        let port = Int(endpoint.boundAddress.split(separator: ":").last!)!
        let (status, body) = try HTTPScrape.get(port: port)
        XCTAssertEqual(status, 200, body)
        return HTTPScrape.samples(body)
    }

    func testCountersGaugesAndTheStepHistogramAsScraped() throws {
        let metrics = PrometheusCoordinatorMetrics()
        let endpoint = try metrics.export.serve(on: "127.0.0.1:0")
        defer { endpoint.stop() }
        XCTAssertTrue(endpoint.boundAddress.hasPrefix("127.0.0.1:"), endpoint.boundAddress)
        XCTAssertNotEqual(endpoint.boundAddress, "127.0.0.1:0")

        let before = try scrape(endpoint)
        XCTAssertEqual(before["mbt_steps_total"], 0)
        XCTAssertEqual(before["mbt_worker_deaths_total"], 0)
        XCTAssertEqual(before[#"mbt_rejected_messages_total{reason="malformed"}"#], 0)

        metrics.stepApplied(seconds: 0.02, examples: 256, epoch: 1, meanLoss: 5.5, examplesPerSecond: 1000)
        metrics.stepApplied(seconds: 0.3, examples: 256, epoch: 1, meanLoss: 5.25, examplesPerSecond: 1200)
        metrics.stepApplied(seconds: 0.04, examples: 100, epoch: 2, meanLoss: 4.75, examplesPerSecond: 900)
        metrics.epochEvaluated(epoch: 1, recall: [20: 0.25, 50: 0.5])
        metrics.workerLost()
        metrics.rejected(reason: "bad_length")
        metrics.rejected(reason: "bad_length")
        metrics.rejected(reason: "malformed")
        var traffic = TrafficCounters()
        traffic.bytesSent = 1000
        traffic.bytesReceived = 400
        traffic.messagesSent = 10
        traffic.messagesReceived = 4
        metrics.update(workersAlive: 3, workersReady: 2, resends: 5, traffic: traffic)
        traffic.bytesSent = 1500
        traffic.messagesSent = 12
        metrics.update(workersAlive: 3, workersReady: 3, resends: 7, traffic: traffic)
        metrics.checkpointWritten()

        let s = try scrape(endpoint)
        XCTAssertEqual(s["mbt_steps_total"], 3)
        XCTAssertEqual(s["mbt_examples_total"], 612)
        XCTAssertEqual(s["mbt_epoch"], 2)
        XCTAssertEqual(s["mbt_loss"], 4.75)
        XCTAssertEqual(s["mbt_examples_per_second"], 900)
        XCTAssertEqual(s[#"mbt_recall{k="20"}"#], 0.25)
        XCTAssertEqual(s[#"mbt_recall{k="50"}"#], 0.5)
        XCTAssertEqual(s["mbt_worker_deaths_total"], 1)
        XCTAssertEqual(s[#"mbt_rejected_messages_total{reason="bad_length"}"#], 2)
        XCTAssertEqual(s[#"mbt_rejected_messages_total{reason="malformed"}"#], 1)
        XCTAssertEqual(s["mbt_workers_alive"], 3)
        XCTAssertEqual(s["mbt_workers_ready"], 3)
        XCTAssertEqual(s["mbt_resends_total"], 7)
        XCTAssertEqual(s[#"mbt_wire_bytes_total{direction="sent"}"#], 1500)
        XCTAssertEqual(s[#"mbt_wire_bytes_total{direction="received"}"#], 400)
        XCTAssertEqual(s[#"mbt_wire_messages_total{direction="sent"}"#], 12)
        XCTAssertEqual(s["mbt_checkpoints_total"], 1)
        XCTAssertLessThan(try XCTUnwrap(s["mbt_checkpoint_age_seconds"]), 5)
        // The step-time histogram: cumulative buckets in seconds, a count and a sum.
        XCTAssertEqual(s["mbt_step_seconds_count"], 3)
        XCTAssertEqual(try XCTUnwrap(s["mbt_step_seconds_sum"]), 0.36, accuracy: 1e-6)
        XCTAssertEqual(s[#"mbt_step_seconds_bucket{le="0.025"}"#], 1)
        XCTAssertEqual(s[#"mbt_step_seconds_bucket{le="0.05"}"#], 2)
        XCTAssertEqual(s[#"mbt_step_seconds_bucket{le="0.25"}"#], 2)
        XCTAssertEqual(s[#"mbt_step_seconds_bucket{le="0.5"}"#], 3)
        XCTAssertEqual(s[#"mbt_step_seconds_bucket{le="+Inf"}"#], 3)
    }

    func testTheCheckpointAgeGrowsUntilTheNextCheckpoint() throws {
        let metrics = PrometheusCoordinatorMetrics()
        let endpoint = try metrics.export.serve(on: "localhost:0")
        defer { endpoint.stop() }
        usleep(300_000)
        let first = try XCTUnwrap(try scrape(endpoint)["mbt_checkpoint_age_seconds"])
        XCTAssertGreaterThanOrEqual(first, 0.3)
        metrics.checkpointWritten()
        XCTAssertLessThan(try XCTUnwrap(try scrape(endpoint)["mbt_checkpoint_age_seconds"]), first)
    }

    func testOnlyMetricsIsServed() throws {
        let endpoint = try PrometheusCoordinatorMetrics().export.serve(on: "127.0.0.1:0")
        defer { endpoint.stop() }
        let port = Int(endpoint.boundAddress.split(separator: ":").last!)!
        XCTAssertEqual(try HTTPScrape.get(port: port, path: "/").status, 404)
    }

    func testAddresses() throws {
        XCTAssertEqual(try MetricsEndpoint.parse("0.0.0.0:9464").host, "0.0.0.0")
        XCTAssertEqual(try MetricsEndpoint.parse("0.0.0.0:9464").port, 9464)
        XCTAssertEqual(try MetricsEndpoint.parse(":9464").host, "0.0.0.0")
        XCTAssertEqual(try MetricsEndpoint.parse("localhost:0").host, "127.0.0.1")
        XCTAssertEqual(try MetricsEndpoint.parse("[::1]:9464").host, "::1")
        for bad in ["9464", "host:port", "127.0.0.1:70000", ""] {
            XCTAssertThrowsError(try MetricsEndpoint.parse(bad), bad)
        }
        XCTAssertThrowsError(try MetricsEndpoint(address: "coordinator.example:9464") { [] }) {
            XCTAssertTrue("\($0)".contains("not an IP address"), "\($0)")
        }
    }

    func testABusyPortIsAClearError() throws {
        let endpoint = try PrometheusCoordinatorMetrics().export.serve(on: "127.0.0.1:0")
        defer { endpoint.stop() }
        XCTAssertThrowsError(try MetricsEndpoint(address: endpoint.boundAddress) { [] }) {
            XCTAssertTrue("\($0)".contains("cannot serve metrics on \(endpoint.boundAddress)"), "\($0)")
        }
    }
}
