import Kernels

/// One epoch's order: a seeded permutation of `0 ..< interactionCount` cut into minibatches of `minibatchSize`
/// (the last may be short). A pure function of `(seed, epoch)`, so any minibatch can be recomputed anywhere.
public struct EpochPlan: Sendable, Equatable {
    public let seed: UInt64
    public let epoch: Int
    public let interactionCount: Int
    public let minibatchSize: Int
    /// The permutation (interactionCount): indices into the training arrays.
    public let order: [UInt32]

    public init(seed: UInt64, epoch: Int, interactionCount: Int, minibatchSize: Int) {
        precondition(interactionCount >= 0 && interactionCount <= Int(UInt32.max),
                     "EpochPlan interactionCount \(interactionCount) outside 0...\(UInt32.max)")
        precondition(minibatchSize > 0, "EpochPlan minibatchSize must be positive, got \(minibatchSize)")
        precondition(epoch >= 0, "EpochPlan epoch must be non-negative, got \(epoch)")
        self.seed = seed
        self.epoch = epoch
        self.interactionCount = interactionCount
        self.minibatchSize = minibatchSize
        var random = SeededRandom(seed: seed, stream: 0x4550_4F43, UInt64(epoch))  // "EPOC"
        var order = [UInt32](repeating: 0, count: interactionCount)
        order.withUnsafeMutableBufferPointer { o in
            for k in 0 ..< interactionCount { o[k] = UInt32(k) }
            // Fisher–Yates from the end.
            var k = interactionCount - 1
            while k > 0 {
                o.swapAt(k, random.nextInt(below: k + 1))
                k -= 1
            }
        }
        self.order = order
    }

    public var minibatchCount: Int { (interactionCount + minibatchSize - 1) / minibatchSize }

    /// The training-array indices of minibatch `index` (minibatchSize of them, fewer in the last).
    public func interactions(inMinibatch index: Int) -> ArraySlice<UInt32> {
        precondition(index >= 0 && index < minibatchCount, "minibatch \(index) outside 0..<\(minibatchCount)")
        let start = index * minibatchSize
        return order[start ..< min(start + minibatchSize, interactionCount)]
    }
}
