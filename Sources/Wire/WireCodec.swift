/// Bytes ⇄ messages. A message travels as two frames: a `headerSize`-byte header, then the payload
/// (possibly empty).
public enum WireCodec {
    public static let headerSize = 32
    /// 'E','M','B','K' read as a little-endian u32.
    public static let magic: UInt32 = 0x4B42_4D45
    public static let protocolVersion: UInt16 = 3
    /// The longest string (in UTF-8 bytes) on the wire; longer strings are cut when encoded, refused when decoded.
    public static let maxStringBytes = 4096

    /// The two frames of `envelope`.
    public static func encode(_ envelope: Envelope) -> (header: [UInt8], payload: [UInt8]) {
        let payload = envelope.message.encodePayload()
        let header = Header(tag: envelope.message.tag, sender: envelope.sender, sequence: envelope.sequence, payload: payload)
        return (header.bytes, payload)
    }

    /// Checks length, magic, version, tag, reserved flags, payload length and CRC, in that order.
    public static func decodeHeader(_ header: [UInt8], payload: [UInt8]) throws(WireError) -> (Header, MessageTag) {
        let h = try Header(parsing: header)
        guard h.magic == magic else { throw .badMagic(h.magic) }
        guard h.protocolVersion == protocolVersion else { throw .unsupportedVersion(h.protocolVersion) }
        guard let tag = MessageTag(rawValue: h.tag) else { throw .unknownTag(h.tag) }
        guard h.flags == 0 else { throw .reservedFlags(h.flags) }
        guard Int(h.payloadLength) == payload.count else { throw .lengthMismatch(declared: h.payloadLength, actual: payload.count) }
        let crc = CRC32C.checksum(payload)
        guard crc == h.payloadCRC32C else { throw .checksumMismatch(declared: h.payloadCRC32C, computed: crc) }
        return (h, tag)
    }

    /// The envelope carried by two frames, or why they are not a valid message.
    public static func decode(header: [UInt8], payload: [UInt8]) throws(WireError) -> Envelope {
        let (h, tag) = try decodeHeader(header, payload: payload)
        let message = try Message.decodePayload(tag: tag, payload)
        return Envelope(sender: h.sender, sequence: h.sequence, message: message)
    }

    /// Decodes a message received as a list of frames, which must be exactly [header, payload].
    public static func decode(frames: [[UInt8]]) throws(WireError) -> Envelope {
        guard frames.count == 2 else { throw .badFrameCount(frames.count) }
        return try decode(header: frames[0], payload: frames[1])
    }
}
