/// The scan that every value bound of the protocol and of the coordinator's parameter check runs: one pass over the
/// values' bit patterns in eight lanes, the slow search only when something is out of range.
public enum MagnitudeScan {
    /// The index of the first value that is NaN, ±∞ or of magnitude above `maxAbs`, or nil.
    ///
    /// A float's magnitude is its bit pattern without the sign bit, and those patterns order as unsigned integers
    /// as the magnitudes do, +∞ above every finite one and every NaN above +∞: so the largest pattern says at once
    /// whether any value is out of range.
    public static func firstOutOfRange(_ values: UnsafeBufferPointer<Float>, maxAbs: Float) -> Int? {
        guard maxAbs >= 0 else { return values.isEmpty ? nil : 0 }   // NaN or negative: nothing is within
        let limit = (maxAbs.isInfinite ? Float.greatestFiniteMagnitude : maxAbs).bitPattern
        let count = values.count, lanes = count - count % 8
        var widest = SIMD8<UInt32>(repeating: 0)
        var tail: UInt32 = 0
        if let base = values.baseAddress {
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i < lanes {
                widest = pointwiseMax(widest, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<UInt32>.self) & 0x7FFF_FFFF)
                i += 8
            }
            while i < count {
                tail = max(tail, base[i].bitPattern & 0x7FFF_FFFF)
                i += 1
            }
        }
        guard max(widest.max(), tail) > limit else { return nil }
        return values.firstIndex { !$0.isFinite || abs($0) > maxAbs }
    }

    /// `firstOutOfRange` of an array.
    public static func firstOutOfRange(_ values: [Float], maxAbs: Float) -> Int? {
        values.withUnsafeBufferPointer { firstOutOfRange($0, maxAbs: maxAbs) }
    }
}
