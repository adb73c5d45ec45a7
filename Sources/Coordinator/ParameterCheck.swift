import Kernels
import Wire

/// Finds parameters that are not finite, or so large that a similarity of two rows could overflow float32 (which
/// a worker would turn into NaN gradients), so that a run stops at the step that produced them instead of training,
/// sending and saving them. Every step checks the rows it moved (its delta: cost proportional to the step); every
/// epoch's audit checks the whole state.
public struct ParameterCheck: Sendable {
    /// The largest magnitude a parameter may have: √(FLT_MAX · min(τ, 1) / d) / 16, so that a dot product of two
    /// rows divided by τ stays far from overflow (4.6e16 at d 64, τ 0.1; no trained model comes near it).
    public let limit: Float

    public init(dim: Int, temperature: Float) {
        let room = Double(Float.greatestFiniteMagnitude) * Double(min(max(temperature, 1e-6), 1)) / Double(max(dim, 1))
        limit = Float(room.squareRoot() / 16)
    }

    /// A check with this limit (a shard is told the coordinator's).
    public init(limit: Float) {
        self.limit = limit
    }

    /// The first value out of range among the rows a step moved, named for a log line, or nil.
    public func firstOutOfRange(in delta: StepDelta) -> String? {
        for (name, rows) in [("user", delta.users), ("item", delta.items), ("bank", delta.bank)] {
            if let index = rows.values.withUnsafeBufferPointer({ firstOutOfRange($0) }) {
                return describe(name, rows.ids[index / rows.dim], rows.values[index])
            }
        }
        return nil
    }

    /// The first value out of range in the users, items and bank, named for a log line, or nil.
    public func firstOutOfRange(in state: TrainingState) -> String? {
        for (name, table) in [("user", state.users), ("item", state.items), ("bank", state.bank.table)] {
            if let problem = firstOutOfRange(in: table, name: name) { return problem }
        }
        return nil
    }

    /// The first value out of range in `table` (its rows named `name` in the line), or nil.
    public func firstOutOfRange(in table: EmbeddingTable, name: String) -> String? {
        let found: (Int, Float)? = table.withUnsafeValues { values in
            guard let index = firstOutOfRange(values) else { return nil }
            return (index, values[index])
        }
        return found.map { describe(name, UInt32($0.0 / table.dim), $0.1) }
    }

    func describe(_ table: String, _ row: UInt32, _ value: Float) -> String {
        value.isFinite ? "\(table) row \(row) holds \(value), beyond ±\(limit) where similarities could overflow"
            : "\(table) row \(row) holds \(value)"
    }

    /// The index of the first NaN, ±∞ or value beyond ±limit, or nil; one pass when all is well (`MagnitudeScan`).
    func firstOutOfRange(_ values: UnsafeBufferPointer<Float>) -> Int? {
        MagnitudeScan.firstOutOfRange(values, maxAbs: limit)
    }
}
