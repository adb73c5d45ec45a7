import CoreMetrics
import Coordinator
import Foundation
import Transport

/// The coordinator's metrics for Prometheus (see the README's table of metrics).
public final class PrometheusCoordinatorMetrics: CoordinatorMetrics, @unchecked Sendable {
    public let export = PrometheusExport(durationBuckets: [
        "mbt_step_seconds": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ])
    private let steps, examples, deaths, resends, checkpoints: CoreMetrics.Counter
    private let loss, examplesPerSecond, epoch, workersAlive, workersReady, checkpointAge: CoreMetrics.Gauge
    private let stepTime: CoreMetrics.Timer
    private let lock = NSLock()
    private var recallGauges: [Int: CoreMetrics.Gauge] = [:]
    private var lastResends = 0
    /// When the last checkpoint reached the disk, or when this process started (the work a crash would lose).
    private var lastCheckpoint = Date()

    public init() {
        steps = export.counter("mbt_steps_total")
        examples = export.counter("mbt_examples_total")
        deaths = export.counter("mbt_worker_deaths_total")
        resends = export.counter("mbt_resends_total")
        checkpoints = export.counter("mbt_checkpoints_total")
        loss = export.gauge("mbt_loss")
        examplesPerSecond = export.gauge("mbt_examples_per_second")
        epoch = export.gauge("mbt_epoch")
        workersAlive = export.gauge("mbt_workers_alive")
        workersReady = export.gauge("mbt_workers_ready")
        checkpointAge = export.gauge("mbt_checkpoint_age_seconds")
        stepTime = export.timer("mbt_step_seconds")
        steps.increment(by: 0)
        deaths.increment(by: 0)
        resends.increment(by: 0)
        checkpoints.increment(by: 0)
        examples.increment(by: 0)
        workersAlive.record(0)
        workersReady.record(0)
        export.beforeScrape = { [weak self] in
            guard let self else { return }
            checkpointAge.record(Date().timeIntervalSince(lock.withLock { lastCheckpoint }))
        }
    }

    public func stepApplied(seconds: Double, examples count: Int, epoch current: Int, meanLoss: Double,
                            examplesPerSecond rate: Double) {
        steps.increment()
        examples.increment(by: count)
        stepTime.recordSeconds(seconds)
        epoch.record(current)
        loss.record(meanLoss)
        examplesPerSecond.record(rate)
    }

    public func epochEvaluated(epoch: Int, recall: [Int: Double]) {
        for (k, value) in recall {
            let gauge = lock.withLock {
                if let g = recallGauges[k] { return g }
                let g = export.gauge("mbt_recall", [("k", String(k))])
                recallGauges[k] = g
                return g
            }
            gauge.record(value)
        }
    }

    public func checkpointWritten() {
        lock.withLock { lastCheckpoint = Date() }
        checkpoints.increment()
    }

    public func workerLost() { deaths.increment() }

    public func rejected(reason: String) { export.rejected(reason: reason) }

    public func update(workersAlive alive: Int, workersReady ready: Int, resends total: Int, traffic: TrafficCounters) {
        workersAlive.record(alive)
        workersReady.record(ready)
        let before = lock.withLock {
            let before = lastResends
            lastResends = total
            return before
        }
        if total > before { resends.increment(by: total - before) }
        export.traffic(traffic)
    }
}
