import Kernels

/// Finds parameters that are no longer finite, so that a run stops at the step that produced them instead of
/// training, sending and saving NaN. Every step checks the rows it moved (its delta: cost proportional to the step);
/// every epoch's audit checks the whole state.
public enum ParameterCheck {
    /// The first non-finite value among the rows a step moved, named for a log line, or nil.
    public static func firstNonFinite(in delta: StepDelta) -> String? {
        for (name, rows) in [("user", delta.users), ("item", delta.items), ("bank", delta.bank)] {
            if let index = firstNonFinite(rows.values) {
                return "\(name) row \(rows.ids[index / rows.dim]) holds \(rows.values[index])"
            }
        }
        return nil
    }

    /// The first non-finite value of the users, items and bank, named for a log line, or nil.
    public static func firstNonFinite(in state: TrainingState) -> String? {
        for (name, table) in [("user", state.users), ("item", state.items), ("bank", state.bank.table)] {
            let found: (Int, Float)? = table.withUnsafeValues { values in
                guard let index = firstNonFinite(values) else { return nil }
                return (index, values[index])
            }
            if let (index, value) = found { return "\(name) row \(index / table.dim) holds \(value)" }
        }
        return nil
    }

    /// The index of the first NaN or ±∞, or nil; one vectorisable pass when everything is finite.
    static func firstNonFinite<C: Collection>(_ values: C) -> Int? where C.Element == Float, C.Index == Int {
        var sum: Float = 0
        for v in values { sum += v * 0 }   // 0 for every finite value, NaN once any is NaN or ±∞
        guard sum.isNaN else { return nil }
        return values.firstIndex { !$0.isFinite }
    }
}
