import Transport

/// What the coordinator tells an operator's metrics while it trains. The executable gives the server one that
/// Prometheus scrapes (module Telemetry); without one nothing is counted (`CoordinatorMetricsOff`).
///
/// Called on the coordinator's thread, except `checkpointWritten`, which comes from the checkpoint writer's queue.
public protocol CoordinatorMetrics: AnyObject, Sendable {
    /// A step was applied: `seconds` from its first STEP to its update, `examples` in it; the epoch in progress
    /// (1-based) with its mean loss and examples per second so far.
    func stepApplied(seconds: Double, examples: Int, epoch: Int, meanLoss: Double, examplesPerSecond: Double)
    /// An epoch's test figures are known: Recall@K by K.
    func epochEvaluated(epoch: Int, recall: [Int: Double])
    /// A checkpoint reached the disk.
    func checkpointWritten()
    /// A worker was declared dead.
    func workerLost()
    /// A message was refused; `reason` is one of a few fixed words (it becomes a label).
    func rejected(reason: String)
    /// The live figures, about every 50 ms: workers that are members and ready, resends and wire traffic so far.
    func update(workersAlive: Int, workersReady: Int, resends: Int, traffic: TrafficCounters)
}

/// Counts nothing.
public final class CoordinatorMetricsOff: CoordinatorMetrics {
    public init() {}
    public func stepApplied(seconds: Double, examples: Int, epoch: Int, meanLoss: Double, examplesPerSecond: Double) {}
    public func epochEvaluated(epoch: Int, recall: [Int: Double]) {}
    public func checkpointWritten() {}
    public func workerLost() {}
    public func rejected(reason: String) {}
    public func update(workersAlive: Int, workersReady: Int, resends: Int, traffic: TrafficCounters) {}
}
