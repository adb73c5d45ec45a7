import Wire

/// Reads a fuzz input as a script: single bytes and length-prefixed frames. Reads past the end give zeros and
/// empty frames, so that every input is a valid script and the fuzzer never wastes time on a refused one.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A u16 little-endian length, then that many bytes (fewer when the input ends first).
    public mutating func frame() -> [UInt8] {
        let length = Int(byte()) | Int(byte()) << 8
        let end = min(bytes.count, offset + length)
        guard offset < end else { return [] }
        defer { offset = end }
        return Array(bytes[offset ..< end])
    }

    /// The frames of the whole input.
    public static func frames(_ bytes: [UInt8]) -> [[UInt8]] {
        var input = FuzzInput(bytes)
        var frames: [[UInt8]] = []
        while !input.isAtEnd { frames.append(input.frame()) }
        return frames
    }

    /// The bytes of `frames` in the form `frames(_:)` reads (for building seeds).
    public static func encode(frames: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for frame in frames {
            precondition(frame.count <= Int(UInt16.max), "a fuzz frame holds at most 65535 bytes")
            out += [UInt8(frame.count & 0xFF), UInt8(frame.count >> 8)] + frame
        }
        return out
    }
}

extension WireCodec {
    /// The message that a tag byte and a payload make once wrapped in a correct header (length and CRC filled in),
    /// or nil when the payload decoder refuses them. Re-encoding it must give the same payload.
    static func fuzzDecode(tag: UInt16, payload: [UInt8], sender: UInt32 = 0) throws(FuzzFailure) -> Envelope? {
        let header = Header(tag: tag, sender: sender, sequence: 1, payload: payload).bytes
        guard let envelope = try? WireCodec.decode(frames: [header, payload]) else { return nil }
        let again = WireCodec.encode(envelope)
        guard again.header == header, again.payload == payload else {
            throw FuzzFailure("\(envelope.message.name) does not re-encode to its bytes: tag \(tag), payload \(payload)")
        }
        return envelope
    }
}
