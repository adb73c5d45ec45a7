import CoreMetrics
import Foundation
import Transport
import Worker

/// A worker's metrics for Prometheus (see the README's table of metrics).
public final class PrometheusWorkerMetrics: WorkerMetrics, @unchecked Sendable {
    public let export = PrometheusExport(durationBuckets: [
        "mbt_worker_minibatch_seconds": [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ])
    private let computed, cached: CoreMetrics.Counter
    private let training, stepVersion: CoreMetrics.Gauge
    private let minibatchTime: CoreMetrics.Timer

    public init() {
        computed = export.counter("mbt_worker_minibatches_total")
        cached = export.counter("mbt_worker_cache_answers_total")
        training = export.gauge("mbt_worker_training")
        stepVersion = export.gauge("mbt_worker_step_version")
        minibatchTime = export.timer("mbt_worker_minibatch_seconds")
        computed.increment(by: 0)
        cached.increment(by: 0)
        training.record(0)
    }

    public func minibatchComputed(seconds: Double) {
        computed.increment()
        minibatchTime.recordSeconds(seconds)
    }

    public func answeredFromCache() { cached.increment() }

    public func rejected(reason: String) { export.rejected(reason: reason) }

    public func update(training isTraining: Bool, version: UInt64, traffic: TrafficCounters) {
        training.record(isTraining ? 1 : 0)
        stepVersion.record(Int64(clamping: version))
        export.traffic(traffic)
    }
}
