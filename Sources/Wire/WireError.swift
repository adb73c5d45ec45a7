/// Why a received message was rejected. Every case names what was wrong so that a log line is actionable.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A message must travel as exactly two frames (header, payload); this many arrived.
    case badFrameCount(Int)
    /// The header frame must be exactly `WireCodec.headerSize` bytes; this many arrived.
    case badHeaderLength(Int)
    /// The first four bytes were not 'E','M','B','K'.
    case badMagic(UInt32)
    /// The sender speaks a protocol version this build does not.
    case unsupportedVersion(UInt16)
    /// The tag is not one of `MessageTag`.
    case unknownTag(UInt16)
    /// The header's reserved flags were not zero.
    case reservedFlags(UInt32)
    /// The header's payload length does not match the payload frame's size.
    case lengthMismatch(declared: UInt32, actual: Int)
    /// The payload's CRC32C does not match the header's.
    case checksumMismatch(declared: UInt32, computed: UInt32)
    /// The payload ended while reading `what`.
    case truncated(what: String)
    /// `what` declared `size`, more than the protocol allows (`limit`).
    case tooLarge(what: String, size: Int, limit: Int)
    /// The payload was read completely and this many bytes were left over.
    case trailingBytes(Int)
    /// A field held a value the protocol does not allow.
    case invalid(String)

    public var description: String {
        switch self {
        case .badFrameCount(let n): return "expected 2 frames (header, payload), got \(n)"
        case .badHeaderLength(let n): return "header must be \(WireCodec.headerSize) bytes, got \(n)"
        case .badMagic(let m): return "bad magic 0x\(hex(m, width: 8)) (expected 0x\(hex(WireCodec.magic, width: 8)))"
        case .unsupportedVersion(let v): return "unsupported protocol version \(v) (this build speaks \(WireCodec.protocolVersion))"
        case .unknownTag(let t): return "unknown message tag \(t)"
        case .reservedFlags(let f): return "reserved header flags 0x\(hex(f, width: 8)) must be zero"
        case .lengthMismatch(let declared, let actual): return "header declares \(declared) payload bytes, frame has \(actual)"
        case .checksumMismatch(let declared, let computed):
            return "payload CRC32C mismatch: header 0x\(hex(declared, width: 8)), computed 0x\(hex(computed, width: 8))"
        case .truncated(let what): return "payload truncated while reading \(what)"
        case .tooLarge(let what, let size, let limit): return "\(what) of \(size) exceeds the limit of \(limit)"
        case .trailingBytes(let n): return "\(n) unexpected bytes after the end of the message"
        case .invalid(let why): return "invalid message: \(why)"
        }
    }
}

func hex<T: BinaryInteger>(_ value: T, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
