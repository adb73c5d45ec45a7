/// SplitMix64 (Steele, Lea & Flood 2014): the small seeded generator beneath every random stream of the project.
///
/// It seeds `SeededRandom`'s xoshiro256** state and derives its per-purpose streams, draws the fault injector's
/// stream, and mixes interaction ids for the epoch audit. Its output is part of the protocol (a minibatch's negatives
/// are derived from it, docs/PROTOCOL.md) and of checkpoints (the audit): it must never change.
public struct SplitMix64: Sendable {
    /// The generator's whole state: the seed advanced by the golden-ratio increment once per draw.
    public var state: UInt64 { current }
    @usableFromInline var current: UInt64

    @inlinable
    public init(seed: UInt64) { current = seed }

    /// The next 64 bits: `state += 0x9E3779B97F4A7C15`, then the finaliser of the state.
    @inlinable
    public mutating func next() -> UInt64 {
        current &+= 0x9E37_79B9_7F4A_7C15
        var z = current
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform double in [0, 1): the top 53 bits of `next()`.
    @inlinable
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
