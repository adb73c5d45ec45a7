import Foundation
import SplitMix
import TestSupport
import Wire
import XCTest

final class CRC32CTests: XCTestCase {
    typealias Update = (UInt32, UnsafeRawBufferPointer) -> UInt32

    /// Every implementation this CPU can run, by name: the software loop always, the crc32 instruction where present.
    let implementations: [(name: String, update: Update)] =
        [("software", CRC32C.softwareUpdate)] + (CRC32C.hasHardwareSupport ? [("hardware", CRC32C.hardwareUpdate)] : [])

    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        for (name, update) in implementations {
            XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { update(0, $0) }, 0xE306_9283, name)
        }
    }

    func testEmptyAndKnownVectors() {
        XCTAssertEqual(CRC32C.checksum([]), 0)
        for (name, update) in implementations {
            func crc(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { update(0, $0) } }
            XCTAssertEqual(update(0, UnsafeRawBufferPointer(start: nil, count: 0)), 0, name)
            XCTAssertEqual(update(0x1234_5678, UnsafeRawBufferPointer(start: nil, count: 0)), 0x1234_5678, name)
            // RFC 3720 (iSCSI) B.4 test vectors.
            XCTAssertEqual(crc([UInt8](repeating: 0, count: 32)), 0x8A91_36AA, name)
            XCTAssertEqual(crc([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43, name)
            XCTAssertEqual(crc((0..<32).map { UInt8($0) }), 0x46DD_794E, name)
            XCTAssertEqual(crc((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C, name)
        }
    }

    /// The sliced loop agrees with a bit-at-a-time reference at every length and alignment.
    func testSoftwareMatchesBitwiseReference() {
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for start in 0..<9 {
            for end in start...data.count {
                let crc = data[start..<end].withUnsafeBytes { CRC32C.softwareUpdate(0, $0) }
                XCTAssertEqual(crc, bitwiseCRC32C(data[start..<end]), "\(start)..<\(end)")
            }
        }
    }

    /// Where the CPU has SSE4.2 (the `sse4_2` flag of /proc/cpuinfo), `update` must find and use it.
    func testHardwareIsDetected() throws {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            throw XCTSkip("no /proc/cpuinfo to compare with")
        }
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        XCTAssertEqual(CRC32C.hasHardwareSupport, flags.contains("sse4_2"))
    }

    func testHardwareMatchesSoftwareAtEveryShortLengthAndOffset() throws {
        try XCTSkipUnless(CRC32C.hasHardwareSupport, "no crc32 instruction on this CPU")
        var random = SplitMix64(seed: 1)
        let data = random.bytes(300 + 16)
        for offset in 0..<16 {
            for length in 0...300 {
                let initial = UInt32(truncatingIfNeeded: random.next())
                assertSameCRC(data[offset..<offset + length], initial: 0)
                assertSameCRC(data[offset..<offset + length], initial: initial)
            }
        }
    }

    /// The hardware loop runs three interleaved streams of 8192 bytes (blocks of 24,576), then of 256 bytes (blocks
    /// of 768), then single 8-byte words: lengths just around whole blocks of each kind, and mixtures of them.
    func testHardwareMatchesSoftwareAroundInterleavedBlocks() throws {
        try XCTSkipUnless(CRC32C.hasHardwareSupport, "no crc32 instruction on this CPU")
        var random = SplitMix64(seed: 2)
        let data = random.bytes(3 * 24_576 + 3 * 768 + 64)
        let wholeBlocks = [768, 2 * 768, 3 * 768, 24_576, 24_576 + 768, 24_576 + 2 * 768, 2 * 24_576, 3 * 24_576 + 3 * 768]
        for blocks in wholeBlocks {
            for length in blocks - 9...blocks + 17 {
                for offset in [0, 1, 4, 7, 8, 13] {
                    assertSameCRC(data[offset..<offset + length], initial: UInt32(truncatingIfNeeded: random.next()))
                }
            }
        }
    }

    func testHardwareMatchesSoftwareOnLargeBuffers() throws {
        try XCTSkipUnless(CRC32C.hasHardwareSupport, "no crc32 instruction on this CPU")
        var random = SplitMix64(seed: 3)
        let data = random.bytes(3_000_000 + 16)
        for length in [1 << 20, (1 << 20) - 13, (1 << 20) + 1, 3_000_000] {
            for offset in [0, 3, 8, 15] {
                assertSameCRC(data[offset..<offset + length], initial: 0)
            }
        }
        let zeros = [UInt8](repeating: 0, count: 1 << 20), ones = [UInt8](repeating: 0xFF, count: 1 << 20)
        assertSameCRC(zeros[...], initial: 0)
        assertSameCRC(ones[...], initial: 0)
    }

    func testUpdateContinues() {
        let a = Array("12345".utf8), b = Array("6789".utf8)
        let continued = b.withUnsafeBytes { CRC32C.update(CRC32C.checksum(a), $0) }
        XCTAssertEqual(continued, 0xE306_9283)
    }

    /// Chaining `update` over pieces, cut anywhere (inside interleaved blocks too), equals the one-shot checksum.
    func testUpdateChainingEqualsOneShot() {
        var random = SplitMix64(seed: 4)
        let data = random.bytes(200_000)
        let oneShot = CRC32C.checksum(data)
        XCTAssertEqual(oneShot, data.withUnsafeBytes { CRC32C.softwareUpdate(0, $0) })
        let chains: [(name: String, update: Update)] = [("update", CRC32C.update)] + implementations
        for trial in 0..<20 {
            // Cut points: random ones, plus 0 and the end repeated so that empty pieces occur.
            let cuts = ([0, 0, data.count, data.count] + (0..<trial).map { _ in Int(random.next() % UInt64(data.count)) }).sorted()
            for (name, update) in chains {
                var crc: UInt32 = 0
                for (start, end) in zip(cuts, cuts.dropFirst()) {
                    crc = data[start..<end].withUnsafeBytes { update(crc, $0) }
                }
                XCTAssertEqual(crc, oneShot, "\(name), cuts \(cuts)")
            }
        }
    }

    // MARK: Helpers

    /// Hardware and software agree on `bytes` continued from `initial`.
    func assertSameCRC(_ bytes: ArraySlice<UInt8>, initial: UInt32, file: StaticString = #filePath, line: UInt = #line) {
        let (hardware, software) = bytes.withUnsafeBytes { (CRC32C.hardwareUpdate(initial, $0), CRC32C.softwareUpdate(initial, $0)) }
        XCTAssertEqual(hardware, software, "\(bytes.count) bytes at offset \(bytes.startIndex), initial 0x\(String(initial, radix: 16))",
                       file: file, line: line)
    }

    /// One bit at a time, straight from the definition.
    func bitwiseCRC32C(_ data: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
