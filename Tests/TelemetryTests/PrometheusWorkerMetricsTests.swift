import Telemetry
import TestSupport
import Transport
import XCTest

final class PrometheusWorkerMetricsTests: XCTestCase {
    func testWorkerFiguresAsScraped() throws {
        let metrics = PrometheusWorkerMetrics()
        let endpoint = try metrics.export.serve(on: "127.0.0.1:0")
        defer { endpoint.stop() }
        metrics.minibatchComputed(seconds: 0.003)
        metrics.minibatchComputed(seconds: 0.2)
        metrics.answeredFromCache()
        metrics.rejected(reason: "malformed")
        var traffic = TrafficCounters()
        traffic.bytesReceived = 4096
        traffic.messagesReceived = 3
        metrics.update(training: true, version: 17, traffic: traffic)
        let port = Int(endpoint.boundAddress.split(separator: ":").last!)!
        let s = HTTPScrape.samples(try HTTPScrape.get(port: port).body)
        XCTAssertEqual(s["mbt_worker_minibatches_total"], 2)
        XCTAssertEqual(s["mbt_worker_cache_answers_total"], 1)
        XCTAssertEqual(s["mbt_worker_training"], 1)
        XCTAssertEqual(s["mbt_worker_step_version"], 17)
        XCTAssertEqual(s[#"mbt_rejected_messages_total{reason="malformed"}"#], 1)
        XCTAssertEqual(s[#"mbt_wire_bytes_total{direction="received"}"#], 4096)
        XCTAssertEqual(s["mbt_worker_minibatch_seconds_count"], 2)
        XCTAssertEqual(s[#"mbt_worker_minibatch_seconds_bucket{le="0.005"}"#], 1)
    }
}
