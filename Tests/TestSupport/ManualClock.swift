import Foundation
import Transport

/// A clock that moves only when a test says so (or by `step` at each reading, so that a shell that waits for time
/// to pass still sees it pass without sleeping).
public final class ManualClock: ShellClock, @unchecked Sendable {
    private let lock = NSLock()
    private var time: Double
    private let step: Double

    public init(start: Double = 1000, step: Double = 0) {
        time = start
        self.step = step
    }

    public func now() -> Double {
        lock.lock()
        defer { lock.unlock() }
        time += step
        return time
    }

    public func advance(by seconds: Double) {
        lock.lock()
        time += seconds
        lock.unlock()
    }
}
