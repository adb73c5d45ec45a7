import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every payload.
///
/// Two implementations give the same value: the CPU's `crc32` instruction (SSE4.2 on x86-64, see `CCRC32C`),
/// used whenever the CPU has it, and a portable software loop (slicing-by-8: eight 256-entry tables let the
/// inner loop consume eight bytes per iteration) everywhere else.
/// Check value: `CRC32C.checksum(Array("123456789".utf8)) == 0xE3069283`.
public enum CRC32C {
    /// Whether this CPU has the `crc32` instruction, so that `update` runs `hardwareUpdate`.
    public static let hasHardwareSupport = ccrc32c_hardware_available() != 0

    static let polynomial: UInt32 = 0x82F6_3B78

    /// tables (8, 256): tables[k][b] is the CRC of byte b followed by k zero bytes.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var crc = UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            t[b] = crc
        }
        for k in 1..<8 {
            for b in 0..<256 {
                let previous = t[(k - 1) * 256 + b]
                t[k * 256 + b] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The CRC32C of the bytes in `buffer`.
    public static func checksum(_ buffer: UnsafeRawBufferPointer) -> UInt32 {
        update(0, buffer)
    }

    /// Continues a CRC32C over more bytes: `update(checksum(a), b) == checksum(a + b)`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        hasHardwareSupport ? hardwareUpdate(crc, buffer) : softwareUpdate(crc, buffer)
    }

    /// `update` with the CPU's `crc32` instruction; only where `hasHardwareSupport`.
    public static func hardwareUpdate(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        precondition(hasHardwareSupport, "CRC32C.hardwareUpdate on a CPU without the crc32 instruction (SSE4.2)")
        return ccrc32c_hardware_update(crc, buffer.baseAddress, buffer.count)
    }

    /// `update` in portable Swift (slicing-by-8): the fallback, and the reference the hardware path is tested against.
    public static func softwareUpdate(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var c = ~crc
            var i = 0
            let n = buffer.count
            while n - i >= 8 {
                let lo = c ^ (UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16 | UInt32(buffer[i + 3]) << 24)
                let hi = UInt32(buffer[i + 4]) | UInt32(buffer[i + 5]) << 8 | UInt32(buffer[i + 6]) << 16 | UInt32(buffer[i + 7]) << 24
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t[Int((c ^ UInt32(buffer[i])) & 0xFF)]
                i += 1
            }
            return ~c
        }
    }
}
