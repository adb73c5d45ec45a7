import Foundation

/// Axis ticks at "nice" numbers (1, 2, 2.5 or 5 times a power of ten) that cover a data range, after Heckbert's
/// "Nice numbers for graph labels" (Graphics Gems, 1990).
public struct NiceScale: Sendable, Equatable {
    /// The axis runs from `lower` to `upper`, both multiples of `step`, and covers the data.
    public let lower: Double
    public let upper: Double
    public let step: Double

    /// A scale over [minimum, maximum] with about `ticks` ticks (at least 2). An empty or degenerate range (one
    /// value, or nothing finite) gets a unit-wide range around the value (or [0, 1]).
    /// `minimumStep`: no finer ticks than this (1 for an axis of epochs).
    public init(minimum: Double, maximum: Double, ticks: Int = 5, minimumStep: Double = 0) {
        var lo = minimum, hi = maximum
        if !lo.isFinite || !hi.isFinite || lo > hi { lo = 0; hi = 1 }
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
            if minimum >= 0 && lo < 0 { lo = 0 }
        }
        let step = max(Self.nice((hi - lo) / Double(max(ticks - 1, 1)), round: true), minimumStep)
        self.step = step
        self.lower = (lo / step).rounded(.down) * step
        self.upper = (hi / step).rounded(.up) * step
    }

    /// The tick values from `lower` to `upper`.
    public var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded()) + 1
        return (0 ..< count).map { Self.clean(lower + Double($0) * step) }
    }

    /// Where `value` lies on [lower, upper], as a fraction (0 at lower, 1 at upper).
    public func fraction(_ value: Double) -> Double {
        upper > lower ? (value - lower) / (upper - lower) : 0.5
    }

    /// A tick's label: as many decimals as the step needs, no more.
    public func label(_ value: Double) -> String {
        // The fewest decimals that write the step exactly (0.025 needs 3, 25 needs none).
        var decimals = 0
        while decimals < 10, abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-6 {
            decimals += 1
        }
        if max(abs(lower), abs(upper)) >= 10_000 && decimals == 0 && value != 0 { return Self.compact(value) }
        return String(format: "%.\(decimals)f", value)
    }

    /// 1, 2, 5 (or 2.5 when `round`) times a power of ten: the nearest (`round`) or the next at or above `x`.
    static func nice(_ x: Double, round: Bool) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let exponent = floor(log10(x))
        let fraction = x / pow(10, exponent)
        let niceFraction: Double
        if round {
            niceFraction = fraction < 1.5 ? 1 : fraction < 2.25 ? 2 : fraction < 3.5 ? 2.5 : fraction < 7.5 ? 5 : 10
        } else {
            niceFraction = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        }
        return niceFraction * pow(10, exponent)
    }

    /// Removes floating-point dust (0.30000000000000004 → 0.3).
    static func clean(_ v: Double) -> Double { (v * 1e9).rounded() / 1e9 }

    /// 12000 → "12k", 3500000 → "3.5M".
    static func compact(_ v: Double) -> String {
        let a = abs(v)
        let (scaled, suffix) = a >= 1e9 ? (v / 1e9, "G") : a >= 1e6 ? (v / 1e6, "M") : (v / 1e3, "k")
        return scaled == scaled.rounded() ? "\(Int(scaled))\(suffix)" : String(format: "%.1f%@", scaled, suffix)
    }
}
