import CoreMetrics
import Foundation
import Prometheus
import Transport

/// A Prometheus registry filled through swift-metrics, with what the coordinator and the workers both export:
/// refused messages by reason and wire traffic. Thread-safe.
public final class PrometheusExport: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let lock = NSLock()
    private var rejectedByReason: [String: CoreMetrics.Counter] = [:]
    private var lastTraffic = TrafficCounters()
    private let bytes: (sent: CoreMetrics.Counter, received: CoreMetrics.Counter)
    private let messages: (sent: CoreMetrics.Counter, received: CoreMetrics.Counter)
    /// Called before each exposition, to set the gauges that are computed when read.
    var beforeScrape: @Sendable () -> Void = {}

    /// Histogram buckets, in seconds, of the `Timer`s labelled by name.
    init(durationBuckets: [String: [Double]]) {
        var factory = PrometheusMetricsFactory(registry: registry)
        for (label, seconds) in durationBuckets {
            factory.durationHistogramBuckets[label] = seconds.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        }
        self.factory = factory
        bytes = (CoreMetrics.Counter(label: "mbt_wire_bytes_total", dimensions: [("direction", "sent")], factory: factory),
                 CoreMetrics.Counter(label: "mbt_wire_bytes_total", dimensions: [("direction", "received")], factory: factory))
        messages = (CoreMetrics.Counter(label: "mbt_wire_messages_total", dimensions: [("direction", "sent")], factory: factory),
                    CoreMetrics.Counter(label: "mbt_wire_messages_total", dimensions: [("direction", "received")], factory: factory))
        rejected(reason: "malformed", by: 0)
    }

    func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }

    func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    func timer(_ label: String) -> CoreMetrics.Timer { CoreMetrics.Timer(label: label, factory: factory) }

    /// `mbt_rejected_messages_total{reason=…}`.
    func rejected(reason: String, by count: Int = 1) {
        let counter = lock.withLock {
            if let existing = rejectedByReason[reason] { return existing }
            let made = self.counter("mbt_rejected_messages_total", [("reason", reason)])
            rejectedByReason[reason] = made
            return made
        }
        counter.increment(by: count)
    }

    /// `mbt_wire_bytes_total` and `mbt_wire_messages_total` from an endpoint's running totals.
    func traffic(_ now: TrafficCounters) {
        let before = lock.withLock {
            let before = lastTraffic
            lastTraffic = now
            return before
        }
        bytes.sent.increment(by: max(0, now.bytesSent - before.bytesSent))
        bytes.received.increment(by: max(0, now.bytesReceived - before.bytesReceived))
        messages.sent.increment(by: max(0, now.messagesSent - before.messagesSent))
        messages.received.increment(by: max(0, now.messagesReceived - before.messagesReceived))
    }

    /// The text exposition format of every metric.
    public func exposition() -> [UInt8] {
        beforeScrape()
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Serves `exposition()` at `http://address/metrics`.
    public func serve(on address: String) throws -> MetricsEndpoint {
        try MetricsEndpoint(address: address) { [self] in exposition() }
    }
}
