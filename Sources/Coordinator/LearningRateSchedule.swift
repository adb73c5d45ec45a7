import Foundation

/// How the learning rate changes over a run, as a factor of `--lr` that depends only on the step, so that a resumed
/// run continues the same curve.
public enum LearningRateSchedule: Sendable, Equatable {
    /// The same rate throughout.
    case constant
    /// Half a cosine from 1 at the first step down to `finalFraction` at the last planned step, then flat.
    case cosine(finalFraction: Float)

    /// The factor for global step `step` (1-based) of a run planned for `totalSteps` steps.
    public func scale(step: Int, totalSteps: Int) -> Float {
        switch self {
        case .constant:
            return 1
        case let .cosine(floor):
            guard totalSteps > 1 else { return 1 }
            let progress = min(1, Double(max(step - 1, 0)) / Double(totalSteps - 1))
            return floor + (1 - floor) * Float(0.5 * (1 + cos(Double.pi * progress)))
        }
    }

    /// Parses `constant`, `cosine` (down to 1/100) or `cosine:F`.
    public init?(parsing text: String) {
        if text == "constant" {
            self = .constant
        } else if text == "cosine" {
            self = .cosine(finalFraction: 0.01)
        } else if text.hasPrefix("cosine:"), let f = Float(text.dropFirst(7)), f >= 0, f <= 1 {
            self = .cosine(finalFraction: f)
        } else {
            return nil
        }
    }
}
