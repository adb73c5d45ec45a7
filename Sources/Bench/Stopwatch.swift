import Foundation

/// Monotonic wall-clock seconds, for timing windows of steps.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The median of `values` (the mean of the two middle values for an even count).
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of no values")
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// Formats a number with a fixed count of decimals.
func fixed(_ x: Double, _ decimals: Int = 1) -> String { String(format: "%.\(decimals)f", x) }
