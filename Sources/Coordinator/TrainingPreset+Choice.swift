import Foundation

/// What a preset chose for a run and why, as the `start` event of metrics.jsonl records it (`preset`).
public struct PresetChoice: Sendable, Equatable {
    public var name: String
    /// The values the preset set that depend on the data, by their metrics.jsonl keys.
    public var chose: [String: Double]
    /// One sentence: the rule behind the values.
    public var reason: String

    /// The JSON object of the start event.
    public var record: [String: Any] {
        ["name": name, "chose": chose, "reason": reason]
    }
}

extension TrainingPreset {
    /// The settings this preset picks for data of this shape, with the reason for those that follow the data.
    public func choice(data: DataShape) -> PresetChoice {
        var s = CoordinatorSettings()
        apply(to: &s, data: data)
        var chose: [String: Double] = [
            "negatives": Double(s.loss.negatives), "temperature": Double(s.loss.temperature),
            "weight_decay": Double(s.optimizer.weightDecay), "epochs": Double(s.epochs),
            "batch_size": Double(s.batchSize), "lr": Double(s.optimizer.learningRate),
        ]
        if let tauPlus = s.loss.positiveTemperature { chose["positive_temperature"] = Double(tauPlus) }
        var reasons: [String] = []
        if let rule = densityRule {
            let where_ = data.density <= rule.sparse.density ? "at or below \(rule.sparse.density): the sparse anchor's values"
                : data.density >= rule.dense.density ? "at or above \(rule.dense.density): the dense anchor's values"
                : "between \(rule.sparse.density) and \(rule.dense.density): interpolated in log density"
            reasons.append(String(format: "τ, τ⁺ and weight decay follow the data's density ρ = %.2g (training pairs / (users × items)), ", data.density) + where_)
            chose["density"] = data.density
        }
        if let fraction = negativesPerItem, let cap = negatives {
            reasons.append("negatives K = min(\(cap), \(fraction) × \(data.items) items)")
        }
        if reasons.isEmpty { reasons.append(summary) }
        return PresetChoice(name: name, chose: chose, reason: reasons.joined(separator: "; "))
    }
}
