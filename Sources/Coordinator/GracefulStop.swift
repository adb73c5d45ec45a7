/// A request to stop training before its end (SIGTERM, SIGINT): the coordinator finishes the step in flight,
/// checkpoints right after it and exits, to be resumed later with `--resume`. When the step cannot finish within
/// `grace` seconds (its workers are gone too), or no step has started, it stops at the last applied step instead,
/// whose state is still intact.
public struct GracefulStop: Sendable, Equatable {
    /// What asked, for logs and metrics: `SIGTERM`.
    public let reason: String
    /// When the request came (`MonotonicClock` seconds).
    public let requestedAt: Double
    /// How long to wait for the step in flight: well under the 10 s that `docker stop` allows before SIGKILL.
    public let grace: Double

    public static let defaultGrace = 5.0

    public init(reason: String, requestedAt: Double, grace: Double = GracefulStop.defaultGrace) {
        self.reason = reason
        self.requestedAt = requestedAt
        self.grace = grace
    }

    /// Whether to stop now at the last applied step rather than wait for the step in flight.
    public func stopsWithoutStep(waitingForWorkers: Bool, now: Double) -> Bool {
        waitingForWorkers || now - requestedAt >= grace
    }
}
