import Coordinator
import Foundation
import Kernels
import Wire
import XCTest

final class CheckpointTests: XCTestCase {
    static let optimizer = OptimizerSettings(kind: .adam, learningRate: 0.05)

    /// A state a few Adam steps in (so every optimizer array is non-trivial), with a cursor and an audit.
    static func trainedCheckpoint(step: UInt64 = 3, runId: UInt64 = 0xDEAD_BEEF_0123_4567) -> (Checkpoint, TrainingState) {
        let state = TrainingState(userCount: 4, itemCount: 3, dim: 2, initStd: 0.2, seed: 5, momentum: 0.6,
                                  optimizer: optimizer)
        for s in 0 ..< 2 {
            var random = SeededRandom(seed: UInt64(s))
            func g(_ ids: [UInt32]) -> SparseRows {
                SparseRows(dim: 2, ids: ids, values: (0 ..< ids.count * 2).map { _ in Float(random.nextGaussian()) })
            }
            _ = state.apply([MinibatchContribution(examples: 2, lossSum: 1, users: g([0, 3]), items: g([1, 2]),
                                                   positives: [1, 2])])
        }
        var audit = EpochAudit()
        audit.add([4, 0, 2])
        let cursor = TrainingCursor(step: step, version: state.version, epoch: 1, minibatch: 7)
        return (Checkpoint(runId: runId, cursor: cursor, shape: RunShape(minibatchSize: 3, minibatchesPerStep: 2, seed: 99), audit: audit,
                           state: state), state)
    }

    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    func testRoundTripIsBitExact() throws {
        let (checkpoint, state) = Self.trainedCheckpoint()
        let decoded = try Checkpoint.decode(checkpoint.encoded(), path: "/x/checkpoint.mbt")
        XCTAssertEqual(decoded.runId, 0xDEAD_BEEF_0123_4567)
        XCTAssertEqual(decoded.cursor, TrainingCursor(step: 3, version: 2, epoch: 1, minibatch: 7))
        XCTAssertEqual(decoded.shape, RunShape(minibatchSize: 3, minibatchesPerStep: 2, seed: 99))
        XCTAssertEqual(decoded.audit, checkpoint.audit)
        XCTAssertEqual(decoded.audit.count, 3)
        XCTAssertEqual(bits(decoded.users.values), bits(state.users.values))
        XCTAssertEqual(bits(decoded.items.values), bits(state.items.values))
        XCTAssertEqual(bits(decoded.bank.values), bits(state.bank.table.values))
        XCTAssertEqual([decoded.users.rows, decoded.items.rows, decoded.bank.rows, decoded.users.dim], [4, 3, 3, 2])
        XCTAssertEqual(decoded.momentum.bitPattern, Float(0.6).bitPattern)
        XCTAssertEqual(decoded.userOptimizer.stepCount, 2)
        XCTAssertEqual(decoded.itemOptimizer.stepCount, 2)
        XCTAssertEqual(decoded.userOptimizer.state.map(bits), state.userOptimizer.state.map(bits))
        XCTAssertEqual(decoded.itemOptimizer.state.map(bits), state.itemOptimizer.state.map(bits))
        XCTAssertEqual(decoded.userOptimizer.state.count, 2, "Adam keeps m and v")

        // The restored state is the same state: same hash, version, optimizer; and it trains on identically.
        let restored = try decoded.restore(optimizer: Self.optimizer)
        XCTAssertEqual(restored.contentHash(), state.contentHash())
        XCTAssertEqual(restored.version, state.version)
        XCTAssertEqual(restored.bank.version, state.version)
        XCTAssertEqual(restored.bank.momentum, 0.6)
        XCTAssertEqual(restored.userOptimizer.stepCount, 2)
        XCTAssertEqual(restored.userOptimizer.state.map(bits), state.userOptimizer.state.map(bits))
        let next = MinibatchContribution(examples: 1, lossSum: 0, users: SparseRows(dim: 2, ids: [2], values: [1, -1]),
                                         items: SparseRows(dim: 2, ids: [0], values: [0.5, 2]), positives: [0])
        _ = state.apply([next])
        _ = restored.apply([next])
        XCTAssertEqual(restored.contentHash(), state.contentHash())
    }

    /// A non-default SGD run (no optimizer arrays) round-trips too.
    func testRoundTripWithoutOptimizerArrays() throws {
        let state = TrainingState(userCount: 2, itemCount: 2, dim: 1, initStd: 1, seed: 1, momentum: 0,
                                  optimizer: OptimizerSettings(kind: .sgd))
        let checkpoint = Checkpoint(runId: 1, cursor: TrainingCursor(), shape: RunShape(minibatchSize: 1, minibatchesPerStep: 1, seed: 1),
                                    audit: EpochAudit(), state: state)
        let decoded = try Checkpoint.decode(checkpoint.encoded(), path: "p")
        XCTAssertEqual(decoded.userOptimizer.state.count, 0)
        XCTAssertEqual(try decoded.restore(optimizer: OptimizerSettings(kind: .sgd)).contentHash(), state.contentHash())
    }

    private func assertRejected(_ data: Data, path: String, mentioning reason: String? = nil, _ message: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.decode(data, path: path), message, file: file, line: line) { error in
            guard let error = error as? TrainerError else {
                return XCTFail("\(message): expected a TrainerError, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(error.description.hasPrefix(path + ": "), error.description, file: file, line: line)
            if let reason {
                XCTAssertTrue(error.description.contains(reason), "\(message): \(error.description)", file: file, line: line)
            }
        }
    }

    func testTruncatedFilesAreRejected() {
        let data = Self.trainedCheckpoint().0.encoded()
        let path = "/runs/a/checkpoint-0000000003.mbt"
        for length in [0, 7, 8, 12, 15, 16, 40, data.count / 2, data.count - 4, data.count - 1] {
            assertRejected(data.prefix(length), path: path, "\(length) of \(data.count) bytes")
        }
        for length in [16, 40, data.count / 2, data.count - 1] {
            assertRejected(data.prefix(length), path: path, mentioning: "truncated", "\(length) of \(data.count) bytes")
        }
        assertRejected(data + [0], path: path, "a byte too many")
    }

    /// One flipped bit in any byte of the file (magic, length, body or checksum) is caught.
    func testEveryFlippedByteIsRejected() {
        let data = Self.trainedCheckpoint().0.encoded()
        let path = "/runs/b/checkpoint.mbt"
        for index in 0 ..< data.count {
            for bit: UInt8 in [0x01, 0x80] {
                var corrupt = data
                corrupt[index] ^= bit
                let reason = index < 8 ? "wrong magic" : index < 12 ? "truncated" : nil
                assertRejected(corrupt, path: path, mentioning: reason, "byte \(index) bit \(bit)")
            }
        }
        // A body byte flipped: the checksum says so.
        var corrupt = data
        corrupt[40] ^= 0x10
        assertRejected(corrupt, path: path, mentioning: "checksum", "body byte 40")
    }

    func testWrongMagicIsRejected() {
        var data = Self.trainedCheckpoint().0.encoded()
        data.replaceSubrange(0 ..< 8, with: Array("MBTCKPT2".utf8))
        assertRejected(data, path: "old.mbt", mentioning: "wrong magic", "MBTCKPT2")
        assertRejected(Data("{\"not\": \"a checkpoint\"}".utf8), path: "x.json", mentioning: "wrong magic", "JSON")
    }

    /// A u64 field held as `Int` (epoch, minibatch, minibatch size, minibatches per step, audit count, optimizer
    /// steps) above `Int.max`, in a file whose checksum is right, is refused instead of trapping the coordinator.
    func testCountsAboveIntMaxAreRefused() {
        let file = [UInt8](Self.trainedCheckpoint().0.encoded())
        var body = Array(file[12 ..< file.count - 4])
        // Body offsets: epoch 24, minibatch 32, minibatch size 40, minibatches per step 48, audit count 64; the
        // user optimizer's step count follows the three tables (4 users, 3 items, 3 bank rows of dim 2) and momentum.
        let optimizerSteps = 100 + 4 * (4 + 3 + 3) * 2 + 4
        for offset in [24, 32, 40, 48, 64, optimizerSteps] {
            for value in [UInt64(Int.max) + 1, UInt64.max] {
                let original = Array(body[offset ..< offset + 8])
                for k in 0 ..< 8 { body[offset + k] = UInt8(truncatingIfNeeded: value >> UInt64(8 * k)) }
                var w = ByteWriter()
                w.bytes = Array(file[0 ..< 12]) + body
                w.u32(CRC32C.checksum(body))
                assertRejected(Data(w.bytes), path: "big.mbt", mentioning: "out of range", "offset \(offset) = \(value)")
                body.replaceSubrange(offset ..< offset + 8, with: original)
            }
        }
        XCTAssertNoThrow(try Checkpoint.decode(Data(file), path: "intact.mbt"))
    }

    /// A bank momentum outside [0, 1] (or NaN) is refused by the decoder, not trapped on by `restore`.
    func testMomentumOutsideZeroOneIsRefused() {
        let file = [UInt8](Self.trainedCheckpoint().0.encoded())
        let offset = 100 + 4 * (4 + 3 + 3) * 2   // after the three tables
        for momentum: Float in [-0.5, 1.5, .nan, .infinity] {
            var body = Array(file[12 ..< file.count - 4])
            for k in 0 ..< 4 { body[offset + k] = UInt8(truncatingIfNeeded: momentum.bitPattern >> UInt32(8 * k)) }
            var w = ByteWriter()
            w.bytes = Array(file[0 ..< 12]) + body
            w.u32(CRC32C.checksum(body))
            assertRejected(Data(w.bytes), path: "m.mbt", mentioning: "bank momentum", "\(momentum)")
        }
    }

    /// Table sizes whose product (rows × dim, two u32) overflows `Int` are refused instead of trapping.
    func testTableSizesThatOverflowAreRefused() {
        let file = [UInt8](Self.trainedCheckpoint().0.encoded())
        for (offset, what) in [(88, "user table"), (92, "item table")] {
            var body = Array(file[12 ..< file.count - 4])
            body.replaceSubrange(offset ..< offset + 4, with: [0xFF, 0xFF, 0xFF, 0xFF])
            body.replaceSubrange(96 ..< 100, with: [0xFF, 0xFF, 0xFF, 0xFF])   // dim
            if offset == 92 { body.replaceSubrange(88 ..< 92, with: [0, 0, 0, 0]) }   // no users: reach the items
            var w = ByteWriter()
            w.bytes = Array(file[0 ..< 12]) + body
            w.u32(CRC32C.checksum(body))
            assertRejected(Data(w.bytes), path: "huge.mbt", mentioning: "\(what) of 4294967295 rows × dim 4294967295 is too large", what)
        }
    }
}
