/// Reads little-endian primitives from a payload. Every read checks the remaining length first, and every
/// array read checks `count × size` against the remaining bytes before anything is allocated.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    /// Throws unless `count` elements of `size` bytes remain; returns their byte count.
    private func need(_ count: Int, size: Int, _ what: String) throws(WireError) -> Int {
        let (total, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, count >= 0, total <= remaining else { throw .truncated(what: what) }
        return total
    }

    public mutating func u8(_ what: String) throws(WireError) -> UInt8 {
        _ = try need(1, size: 1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16(_ what: String) throws(WireError) -> UInt16 {
        _ = try need(1, size: 2, what)
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    public mutating func u32(_ what: String) throws(WireError) -> UInt32 {
        _ = try need(1, size: 4, what)
        defer { offset += 4 }
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[offset + k]) << UInt32(8 * k) }
        return v
    }

    public mutating func u64(_ what: String) throws(WireError) -> UInt64 {
        _ = try need(1, size: 8, what)
        defer { offset += 8 }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[offset + k]) << UInt64(8 * k) }
        return v
    }

    public mutating func f32(_ what: String) throws(WireError) -> Float { Float(bitPattern: try u32(what)) }
    public mutating func f64(_ what: String) throws(WireError) -> Double { Double(bitPattern: try u64(what)) }

    /// A u32 count, returned as `Int`.
    public mutating func count(_ what: String) throws(WireError) -> Int { Int(try u32(what)) }

    public mutating func u32s(_ count: Int, _ what: String) throws(WireError) -> [UInt32] {
        let byteCount = try need(count, size: 4, what)
        let start = offset
        offset += byteCount
        return [UInt32](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<start + byteCount]))
            }
            #if _endian(big)
            for k in 0..<count { buffer[k] = UInt32(littleEndian: buffer[k]) }
            #endif
            initialized = count
        }
    }

    public mutating func f32s(_ count: Int, _ what: String) throws(WireError) -> [Float] {
        let byteCount = try need(count, size: 4, what)
        let start = offset
        offset += byteCount
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<start + byteCount]))
            }
            #if _endian(big)
            for k in 0..<count { buffer[k] = Float(bitPattern: UInt32(littleEndian: buffer[k].bitPattern)) }
            #endif
            initialized = count
        }
    }

    /// u32 byte length (≤ `WireCodec.maxStringBytes`) + valid UTF-8.
    public mutating func string(_ what: String) throws(WireError) -> String {
        let length = try count("\(what) length")
        guard length <= WireCodec.maxStringBytes else {
            throw .tooLarge(what: "\(what) length", size: length, limit: WireCodec.maxStringBytes)
        }
        _ = try need(length, size: 1, what)
        let slice = bytes[offset..<offset + length]
        offset += length
        let s = String(decoding: slice, as: UTF8.self)  // replaces invalid sequences, so compare to detect them
        guard s.utf8.elementsEqual(slice) else { throw .invalid("\(what) is not valid UTF-8") }
        return s
    }

    /// Throws unless every byte was consumed.
    public func finish() throws(WireError) {
        if remaining != 0 { throw .trailingBytes(remaining) }
    }
}
