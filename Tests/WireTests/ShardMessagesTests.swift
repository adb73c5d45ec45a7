import XCTest
@testable import Wire

/// The coordinator–shard messages: their bytes, their round trips, and the payloads their decoders refuse.
final class ShardMessagesTests: XCTestCase {
    private let open = ShardOpen(runId: 7, index: 1, count: 2, users: 5, items: 4, dim: 2, initStd: 0.5, seed: 3,
                                 momentum: 0.5, optimizerKind: 1, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                                 epsilon: 1e-8, weightDecay: 0, parameterLimit: 1e6)

    private var restoring: ShardOpen {
        var o = open
        o.restore = ShardRestore(step: 12, version: 11, checksum: 0xDEAD_BEEF)
        return o
    }

    private var samples: [Message] {
        let rows = RowBlock(dim: 2, ids: [1, 3], values: [0.5, -0.5, 0.25, 1])
        return [
            .shardOpen(open),
            .shardReady(runId: .max, index: 1, version: 12),
            .shardRead(ShardRead(version: 3, bankAtLiveLength: true, users: [1, 3], items: [], bank: [3])),
            .shardRead(ShardRead(version: 0, bankAtLiveLength: false, users: [], items: [], bank: [])),
            .shardRead(ShardRead(version: 9, bankAtLiveLength: true, prepareOnly: true, users: [1], items: [3], bank: [])),
            .shardRows(ShardRows(version: 3, users: rows, items: .empty(dim: 2), bank: rows)),
            .shardApply(ShardApply(version: 3, learningRateScale: 0.25, minibatches: [
                ShardContribution(examples: 2, lossSum: -1.5, users: rows, items: .empty(dim: 2), followed: [1, 3]),
                ShardContribution(examples: 1, lossSum: 0, users: .empty(dim: 2), items: rows, followed: []),
            ])),
            .shardApplied(version: 4, problem: "user row 3 holds nan"),
            .shardExport(table: .items, start: 2, count: 16384),
            .shardOpen(restoring),
            .shardSave(version: 11, step: 12),
            .shardSaved(version: 11, step: 12, checksum: 0xDEAD_BEEF, bytes: 4096),
        ]
    }

    func testEveryShardMessageRoundTrips() throws {
        for (k, message) in samples.enumerated() {
            let envelope = Envelope(sender: 2, sequence: UInt64(k), message: message)
            let (header, payload) = WireCodec.encode(envelope)
            XCTAssertEqual(try WireCodec.decode(header: header, payload: payload), envelope, message.name)
            XCTAssertTrue(message.isShardMessage)
        }
        XCTAssertFalse(Message.heartbeat(version: 0).isShardMessage)
        XCTAssertEqual(Message.shardApplied(version: 0, problem: "").name, "SHARD_APPLIED")
    }

    /// SHARD_OPEN's payload, written independently (Python: struct.pack('<QIIIIIfQfBffffffQQI', 7, 1, 2, 5, 4, 2,
    /// 0.5, 3, 0.5, 1, 0.01, 0.9, 0.999, 1e-8, 0, 1e6, 0, 0, 0), and with 12, 11, 0xdeadbeef for the restore), and
    /// SHARD_SAVED's (struct.pack('<QQIQ', 11, 12, 0xdeadbeef, 4096)).
    func testShardOpenAndSavedBytesArePinned() {
        let fields = "070000000000000001000000020000000500000004000000020000000000003f03000000000000000000003f010ad7233c"
            + "6666663f77be7f3f77cc2b3200000000002474"
        func hex(_ message: Message) -> String {
            WireCodec.encode(Envelope(sender: 0, sequence: 1, message: message)).payload
                .map { String(format: "%02x", $0) }.joined()
        }
        XCTAssertEqual(hex(.shardOpen(open)), fields + "490000000000000000000000000000000000000000")
        XCTAssertEqual(hex(.shardOpen(restoring)), fields + "490c000000000000000b00000000000000efbeadde")
        XCTAssertEqual(hex(.shardSaved(version: 11, step: 12, checksum: 0xDEAD_BEEF, bytes: 4096)),
                       "0b000000000000000c00000000000000efbeadde0010000000000000")
    }

    func testMalformedShardPayloadsAreRefused() {
        func decodes(_ tag: MessageTag, _ payload: [UInt8]) -> Bool {
            (try? Message.decodePayload(tag: tag, payload)) != nil
        }
        var read = ByteWriter(capacity: 32)
        read.u64(0)
        read.u8(4)   // an unknown flag
        for _ in 0 ..< 3 { read.u32(0) }
        XCTAssertFalse(decodes(.shardRead, read.bytes))
        var export = ByteWriter(capacity: 16)
        export.u8(3)   // no such table
        export.u32(0)
        export.u32(1)
        XCTAssertFalse(decodes(.shardExport, export.bytes))
        var apply = ByteWriter(capacity: 32)
        apply.u64(0)
        apply.f32(1)
        apply.u32(1_000_000)   // minibatches the payload cannot hold
        XCTAssertFalse(decodes(.shardApply, apply.bytes))
        let good = WireCodec.encode(Envelope(sender: 0, sequence: 1, message: .shardOpen(open))).payload
        XCTAssertTrue(decodes(.shardOpen, good))
        XCTAssertFalse(decodes(.shardOpen, good + [0]), "a byte left over")
        XCTAssertFalse(decodes(.shardOpen, Array(good.dropLast())), "a byte short")
        var stray = good
        stray[good.count - 1] = 1   // no step restored, yet a checksum named
        XCTAssertFalse(decodes(.shardOpen, stray))
    }

    func testShardOpenRefusesWhatAShardMustNotBuild() {
        XCTAssertNil(open.refusal())
        var bad = open
        bad.index = 2
        XCTAssertEqual(bad.refusal()?.key, "shard_index")
        bad = open
        bad.dim = 0
        XCTAssertEqual(bad.refusal()?.key, "shard_dim")
        bad = open
        bad.optimizerKind = 4
        XCTAssertEqual(bad.refusal()?.key, "shard_optimizer")
        bad = open
        bad.learningRate = .nan
        XCTAssertEqual(bad.refusal()?.key, "shard_learningRate")
        bad = open
        bad.beta2 = 1
        XCTAssertEqual(bad.refusal()?.key, "shard_betas")
        bad = open
        bad.initStd = open.parameterLimit / 8
        XCTAssertEqual(bad.refusal()?.key, "shard_init_std", "fresh rows could be drawn beyond the limit")
    }
}
