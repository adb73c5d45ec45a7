@testable import Coordinator
import Foundation
import Wire
import XCTest

/// The coordinator's part of a sharded run's checkpoint: its bytes read back, and any damage is refused with the
/// path and the fault.
final class ShardedCheckpointTests: XCTestCase {
    private func sample() -> ShardedCheckpoint {
        var audit = EpochAudit()
        audit.count = 5; audit.sum = 77; audit.xor = 0xABC
        return ShardedCheckpoint(runId: 0xFEED, cursor: TrainingCursor(step: 12, version: 11, epoch: 2, minibatch: 3),
                                 shape: RunShape(minibatchSize: 128, minibatchesPerStep: 3, seed: 9), audit: audit,
                                 users: 500, items: 300, dim: 16,
                                 shards: [.init(checksum: 1, bytes: 100), .init(checksum: 0xDEAD_BEEF, bytes: 1 << 40)])
    }

    func testItReadsBackWhatWasWritten() throws {
        let bytes = sample().encodedBytes()
        XCTAssertEqual(try ShardedCheckpoint.decode(Data(bytes), path: "m.mbt"), sample())
        XCTAssertEqual(SealedFile.checksum(of: bytes), CRC32C.checksum(Array(bytes[12 ..< bytes.count - 4])))
    }

    func testEveryDamageIsRefused() {
        let bytes = sample().encodedBytes()
        func refused(_ data: [UInt8], _ what: String, line: UInt = #line) {
            XCTAssertThrowsError(try ShardedCheckpoint.decode(Data(data), path: "/runs/m.mbt"), what, line: line) { error in
                XCTAssertTrue("\(error)".contains("/runs/m.mbt"), "\(error)", line: line)
            }
        }
        for index in bytes.indices {
            var corrupt = bytes
            corrupt[index] ^= 0x10
            refused(corrupt, "byte \(index)")
        }
        for length in [0, 8, 15, bytes.count / 2, bytes.count - 1] { refused(Array(bytes.prefix(length)), "\(length) bytes") }
        refused(bytes + [0], "a byte too many")
        // A whole checkpoint (the coordinator's own state) is not a sharded one.
        refused(Array("MBTCKPT1".utf8) + bytes.dropFirst(8), "another magic")
        var one = sample()
        one.shards = [one.shards[0]]
        refused(one.encodedBytes(), "a single shard")
        var zero = sample()
        zero.cursor.step = 0
        refused(zero.encodedBytes(), "step 0")
    }
}
