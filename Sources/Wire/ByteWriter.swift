/// Appends little-endian primitives to a byte array. Values that do not fit their wire type are programmer
/// errors (`precondition`): the encoder is only handed messages built by this program.
public struct ByteWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    public mutating func u32(_ v: UInt32) {
        for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }

    public mutating func u64(_ v: UInt64) {
        for s in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }

    /// An `Int` field carried as u32.
    public mutating func u32(_ v: Int, _ what: @autoclosure () -> String) {
        precondition(v >= 0 && v <= Int(UInt32.max), "\(what()) = \(v) does not fit in u32")
        u32(UInt32(v))
    }

    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }

    public mutating func u32s(_ values: [UInt32]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { u32(v) }
        #endif
    }

    public mutating func f32s(_ values: UnsafeBufferPointer<Float>) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
        for v in values { f32(v) }
        #endif
    }

    public mutating func f32s(_ values: [Float]) { values.withUnsafeBufferPointer { f32s($0) } }

    /// u32 byte length + UTF-8. Longer strings are cut at the last whole character within the limit: strings
    /// on the wire are names and human-readable reasons.
    public mutating func string(_ s: String) {
        var utf8 = Array(s.utf8)
        if utf8.count > WireCodec.maxStringBytes {
            var cut = WireCodec.maxStringBytes
            while cut > 0 && (utf8[cut] & 0xC0) == 0x80 { cut -= 1 }  // back up to a scalar boundary
            utf8.removeSubrange(cut...)
        }
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}
