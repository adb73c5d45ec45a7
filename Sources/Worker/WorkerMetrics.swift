import Transport

/// What a worker tells an operator's metrics (module Telemetry exports them to Prometheus); without one nothing
/// is counted (`WorkerMetricsOff`). Called on the worker's thread.
public protocol WorkerMetrics: AnyObject, Sendable {
    /// A minibatch's gradient was computed in `seconds`.
    func minibatchComputed(seconds: Double)
    /// A resent STEP was answered from the cache.
    func answeredFromCache()
    /// A message from the coordinator was refused; `reason` is one of a few fixed words (it becomes a label).
    func rejected(reason: String)
    /// The live figures: whether the worker is admitted and takes tasks, the version of the last STEP it received,
    /// and wire traffic so far.
    func update(training: Bool, version: UInt64, traffic: TrafficCounters)
}

/// Counts nothing.
public final class WorkerMetricsOff: WorkerMetrics {
    public init() {}
    public func minibatchComputed(seconds: Double) {}
    public func answeredFromCache() {}
    public func rejected(reason: String) {}
    public func update(training: Bool, version: UInt64, traffic: TrafficCounters) {}
}
