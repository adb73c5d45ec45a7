import XCTest
import Wire
import TestSupport

/// The exact bytes of one small message per tag. These were computed by an independent implementation
/// (field by field with Python's `struct.pack('<…')` and a bitwise CRC32C), not by this encoder: if one of these
/// fails, the wire format changed, and every peer written against docs/PROTOCOL.md breaks with it.
final class WirePinnedBytesTests: XCTestCase {
    private func assertPinned(_ envelope: Envelope, header: String, payload: String, file: StaticString = #filePath, line: UInt = #line) {
        let encoded = WireCodec.encode(envelope)
        XCTAssertEqual(hexString(encoded.header), hexString(bytes(hex: header)), "header of \(envelope.message.name)", file: file, line: line)
        XCTAssertEqual(hexString(encoded.payload), hexString(bytes(hex: payload)), "payload of \(envelope.message.name)", file: file, line: line)
        XCTAssertEqual(try WireCodec.decode(header: bytes(hex: header), payload: bytes(hex: payload)), envelope, file: file, line: line)
    }

    //                 magic    ver  tag  sender   flags    sequence         length   crc32c
    func testHello() {
        assertPinned(WireSamples.hello,
                     header: "454d424b 0300 0100 00000000 00000000 0100000000000000 1e000000 08c3e3dd",
                     payload: "0807060504030201 0000000000000000 0700000000000000 02000000 7731")
    }

    func testWelcome() {
        assertPinned(WireSamples.welcome,
                     header: "454d424b 0300 0200 00000000 00000000 0200000000000000 54000000 38770b15",
                     payload: """
                     03000000 0700000000000000 0c00000000000000
                     02000000 03000000 02000000 00 00 01 09 0000003f 04000000 00000000 00000000 00000000
                     0000403f
                     2a00000000000000
                     03000000 0000803f 00000040 00004040
                     """)
    }

    func testStep() {
        assertPinned(WireSamples.step,
                     header: "454d424b 0300 0400 00000000 00000000 0400000000000000 84000000 da27dce0",
                     payload: """
                     0500000000000000 0c00000000000000
                     02000000 02000000 00000000 01000000 0000003f 0000803e 000080bf 00000040
                     01000000 02000000 02000000 0000803f 000000c0
                     02000000 02000000 00000000 01000000 9a99193f cdcc4c3f 0000803f 00000000
                     01000000 00000000 04000000 02000000 01000000 00000000 02000000 02000000
                     """)
    }

    func testGradient() {
        assertPinned(WireSamples.gradient,
                     header: "454d424b 0300 0500 03000000 00000000 0900000000000000 48000000 42319304",
                     payload: """
                     0500000000000000 0c00000000000000 00000000 04000000 02000000 000000000000f83f 0000000000000000
                     01000000 02000000 01000000 0000803f 000080bf
                     00000000 02000000
                     """)
    }

    func testHeartbeat() {
        assertPinned(WireSamples.heartbeat,
                     header: "454d424b 0300 0600 03000000 00000000 0a00000000000000 08000000 3d340eef",
                     payload: "0c00000000000000")
    }

    func testReset() {
        assertPinned(WireSamples.reset,
                     header: "454d424b 0300 0800 00000000 00000000 0500000000000000 09000000 69fea7b9",
                     payload: "01 04000000 6c617465")
    }

    func testShutdown() {
        assertPinned(WireSamples.shutdown,
                     header: "454d424b 0300 0900 00000000 00000000 0600000000000000 09000000 c281a9d7",
                     payload: "00 04000000 646f6e65")
    }

    func testReject() {
        assertPinned(WireSamples.reject,
                     header: "454d424b 0300 0a00 00000000 00000000 0700000000000000 07000000 955aff0f",
                     payload: "01 02000000 7632")
    }

    func testTagsAreStable() {
        XCTAssertEqual(WireSamples.all.map(\.message.tag), [1, 2, 4, 5, 6, 8, 9, 10])
        XCTAssertEqual(MessageTag.allCases.map(\.rawValue), [1, 2, 4, 5, 6, 8, 9, 10, 20, 21, 22, 23, 24, 25, 26, 27, 28],
                       "3 and 7 retired, never reused; 20–28 between the coordinator and its shards")
    }
}
