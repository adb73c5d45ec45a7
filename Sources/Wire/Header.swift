/// The 32-byte first frame of every message, little-endian:
///
///     off  0  u32 magic 0x4B424D45 ('E','M','B','K')
///     off  4  u16 protocolVersion
///     off  6  u16 tag
///     off  8  u32 sender
///     off 12  u32 flags (reserved, 0)
///     off 16  u64 sequence
///     off 24  u32 payloadLength
///     off 28  u32 payloadCRC32C
public struct Header: Equatable, Sendable {
    public var magic: UInt32
    public var protocolVersion: UInt16
    public var tag: UInt16
    public var sender: UInt32
    public var flags: UInt32
    public var sequence: UInt64
    public var payloadLength: UInt32
    public var payloadCRC32C: UInt32

    public init(magic: UInt32 = WireCodec.magic, protocolVersion: UInt16 = WireCodec.protocolVersion, tag: UInt16,
                sender: UInt32, flags: UInt32 = 0, sequence: UInt64, payloadLength: UInt32, payloadCRC32C: UInt32) {
        self.magic = magic
        self.protocolVersion = protocolVersion
        self.tag = tag
        self.sender = sender
        self.flags = flags
        self.sequence = sequence
        self.payloadLength = payloadLength
        self.payloadCRC32C = payloadCRC32C
    }

    /// The header describing `payload`.
    public init(tag: UInt16, sender: UInt32, sequence: UInt64, payload: [UInt8]) {
        precondition(payload.count <= Int(UInt32.max), "payload of \(payload.count) bytes does not fit in u32")
        self.init(tag: tag, sender: sender, sequence: sequence,
                  payloadLength: UInt32(payload.count), payloadCRC32C: CRC32C.checksum(payload))
    }

    public var bytes: [UInt8] {
        var w = ByteWriter(capacity: WireCodec.headerSize)
        w.u32(magic)
        w.u16(protocolVersion)
        w.u16(tag)
        w.u32(sender)
        w.u32(flags)
        w.u64(sequence)
        w.u32(payloadLength)
        w.u32(payloadCRC32C)
        return w.bytes
    }

    /// Reads the fields of a 32-byte header without judging them (see `WireCodec.decodeHeader`).
    public init(parsing bytes: [UInt8]) throws(WireError) {
        guard bytes.count == WireCodec.headerSize else { throw .badHeaderLength(bytes.count) }
        var r = ByteReader(bytes)
        magic = try r.u32("magic")
        protocolVersion = try r.u16("protocolVersion")
        tag = try r.u16("tag")
        sender = try r.u32("sender")
        flags = try r.u32("flags")
        sequence = try r.u64("sequence")
        payloadLength = try r.u32("payloadLength")
        payloadCRC32C = try r.u32("payloadCRC32C")
    }
}
