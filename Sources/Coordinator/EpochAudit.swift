import SplitMix

/// Exactly-once accounting of one epoch: how many training interactions contributed to an applied gradient,
/// and an order-independent hash of their ids. Equal to `expected(for:)` iff (with overwhelming probability)
/// every interaction was applied exactly once.
public struct EpochAudit: Sendable, Equatable, Codable {
    public var count: Int = 0
    public var sum: UInt64 = 0
    public var xor: UInt64 = 0

    public init() {}

    public mutating func add<S: Sequence>(_ interactions: S) where S.Element == UInt32 {
        for i in interactions {
            let h = EpochAudit.mix(UInt64(i))
            count += 1
            sum &+= h
            xor ^= h
        }
    }

    /// The audit of an epoch in which each of `interactionCount` interactions was applied once.
    public static func expected(for interactionCount: Int) -> EpochAudit {
        var audit = EpochAudit()
        audit.add((0 ..< UInt32(interactionCount)))
        return audit
    }

    /// The 64-bit mix of an id: the first SplitMix64 output seeded with it.
    static func mix(_ x: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: x)
        return generator.next()
    }
}
