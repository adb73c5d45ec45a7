import SplitMix

extension SplitMix64 {
    /// `count` bytes from the stream (bits 24…31 of each draw), so that a test checks the same bytes on every run.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0 ..< count).map { _ in UInt8(truncatingIfNeeded: next() >> 24) }
    }
}
