import Foundation

/// Seconds of a monotonic clock, for the shells' timers.
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// Where a shell reads the time: the only clock the coordinator's and the worker's shells read, so that a test can
/// hand them another (`ManualClock` in the test-support target).
public protocol ShellClock: Sendable {
    /// Seconds of a monotonic clock (only differences mean anything).
    func now() -> Double
}

/// The process's monotonic clock.
public struct SystemClock: ShellClock {
    public init() {}
    public func now() -> Double { MonotonicClock.now() }
}
