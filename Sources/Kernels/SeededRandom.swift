import Foundation
import SplitMix

/// A seeded, splittable random stream (xoshiro256**, seeded through SplitMix64).
///
/// Every random decision in training draws from a stream derived from the run seed and a purpose, so that a run
/// replays exactly and a minibatch gets the same negatives whichever worker computes it.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
    }

    /// A stream for `seed` and a list of identifiers (purpose, epoch, minibatch, ...).
    public init(seed: UInt64, stream: UInt64...) {
        var h = seed
        for s in stream {
            var x = SplitMix64(seed: h ^ (s &* 0x9E37_79B9_7F4A_7C15))
            h = x.next()
        }
        self.init(seed: h)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform integer in 0..<bound (Lemire's method, unbiased).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Uniform double in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box–Muller).
    public mutating func nextGaussian() -> Double {
        var u = nextUnit()
        while u <= 0 { u = nextUnit() }
        let v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// The state, for checkpoints.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    public init(state: [UInt64]) {
        precondition(state.count == 4, "SeededRandom state has 4 words")
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }
}
