import RunSettings
@testable import Wire
import XCTest

/// The protocol's content rules (docs/PROTOCOL.md, "Validation"): every input that once crashed, hung or poisoned
/// a worker or the coordinator is refused here, with a key that names the rule.
final class PeerInputValidationTests: XCTestCase {
    let limits = InputLimits(memoryBytes: 1 << 30)

    func spec(users: Int = 10, items: Int = 20, dim: Int = 4, temperature: Float = 0.1, negatives: Int = 8,
              loss: LossKind = .bankInfoNCE) -> TrainingSpec {
        TrainingSpec(users: users, items: items, dim: dim,
                     loss: LossSettings(kind: loss, temperature: temperature, negatives: negatives),
                     sampler: .uniform, popularityAlpha: 0, seed: 1)
    }

    // MARK: spec

    func testSpecsAWorkerCannotHonourAreRefused() {
        XCTAssertNil(spec().refusal(within: limits))
        let cases: [(TrainingSpec, String)] = [
            (spec(temperature: 0), "spec_temperature"), (spec(temperature: -1), "spec_temperature"),
            (spec(temperature: .nan), "spec_temperature"), (spec(temperature: .infinity), "spec_temperature"),
            (spec(dim: 0), "spec_dim"), (spec(dim: 5000), "spec_dim"),
            (spec(users: 0), "spec_users"), (spec(items: 0), "spec_items"),
            (spec(users: 0xFFFF_FFFF), "spec_users"),
            (spec(users: 0x7FFF_FFFF, items: 0x7FFF_FFFF, dim: 4096), "spec_memory"),
            (spec(users: 1_000_000, items: 1_000_000, dim: 512), "spec_memory"),
            (spec(negatives: 0xFFFF_FFFF), "spec_negatives"), (spec(negatives: 0), "spec_negatives"),
        ]
        for (s, key) in cases { XCTAssertEqual(s.refusal(within: limits)?.key, key, "\(s)") }
        XCTAssertNil(spec(negatives: 0, loss: LossKind.mnr).refusal(within: limits))
        var nanPopularity = spec()
        nanPopularity.popularity = [Float](repeating: 1, count: 20)
        nanPopularity.popularity[3] = .nan
        XCTAssertEqual(nanPopularity.refusal(within: limits)?.key, "spec_popularity")
        var tauPlus = spec()
        tauPlus.loss.positiveTemperature = 0
        XCTAssertEqual(tauPlus.refusal(within: limits)?.key, "spec_positive_temperature")
    }

    func testMemoryArithmeticDoesNotOverflow() {
        XCTAssertNil(InputLimits.replicaBytes(users: .max / 2, items: .max / 2, dim: 4))
        XCTAssertEqual(InputLimits.replicaBytes(users: 10, items: 20, dim: 4), 50 * 4 * 4)
        XCTAssertNil(InputLimits.taskBytes(pairs: .max / 2, negatives: .max / 2))
        XCTAssertEqual(InputLimits.taskBytes(pairs: 2, negatives: 5), 2 * 8 * 8)
    }

    // MARK: STEP

    func block(_ ids: [UInt32], dim: Int = 4, value: Float = 0.5) -> RowBlock {
        RowBlock(dim: dim, ids: ids, values: [Float](repeating: value, count: ids.count * dim))
    }

    func step(base: UInt64 = 3, version: UInt64 = 4, users: RowBlock? = nil, items: RowBlock? = nil,
              bank: RowBlock? = nil, tasks: [MinibatchTask] = []) -> Step {
        Step(step: 4, baseVersion: base, version: version, userDelta: users ?? block([1, 2]),
             itemDelta: items ?? block([3]), bankDelta: bank ?? block([3]), tasks: tasks)
    }

    func testStepsThatWouldCrashOrPoisonAReplicaAreRefused() {
        let s = spec()
        let good = MinibatchTask(epoch: 0, minibatch: 1, users: [1, 2], items: [3, 4])
        XCTAssertNil(s.refusal(of: step(tasks: [good]), within: limits))
        XCTAssertNil(s.refusal(of: Step(step: 0, baseVersion: 0, version: 0, userDelta: .empty(dim: 4),
                                        itemDelta: .empty(dim: 4), bankDelta: .empty(dim: 4), tasks: [good]),
                               within: limits), "the first STEP: base = version = 0, no delta")
        let cases: [(Step, String)] = [
            (step(users: block([10])), "step_userDelta_row_range"),
            (step(items: block([20])), "step_itemDelta_row_range"),
            (step(bank: block([0xFFFF_FFFF])), "step_bankDelta_row_range"),
            (step(users: block([1], dim: 5)), "step_userDelta_dim"),
            (step(bank: RowBlock.empty(dim: 0)), "step_bankDelta_dim"),
            (step(items: block([2, 2])), "step_itemDelta_duplicate_row"),
            (step(bank: block([1], value: .nan)), "step_bankDelta_not_finite"),
            (step(users: block([1], value: .infinity)), "step_userDelta_not_finite"),
            (step(version: .max), "step_version"),
            (step(base: 4, version: 4), "step_version"),
            (step(base: 5, version: 4), "step_version"),
            (step(tasks: [MinibatchTask(epoch: 0, minibatch: 1, users: [10], items: [3])]), "task_user_range"),
            (step(tasks: [MinibatchTask(epoch: 0, minibatch: 1, users: [1], items: [20])]), "task_item_range"),
            (step(tasks: [MinibatchTask(epoch: 0, minibatch: 1, users: [], items: [])]), "task_pairs"),
            (step(tasks: [good, good]), "step_duplicate_task"),
        ]
        for (st, key) in cases { XCTAssertEqual(s.refusal(of: st, within: limits)?.key, key) }
        // K so large that one task's logits would not fit: refused before the worker allocates them.
        var huge = spec(negatives: 1 << 20)
        huge.items = 20
        let big = MinibatchTask(epoch: 0, minibatch: 0, users: [UInt32](repeating: 1, count: 512),
                                items: [UInt32](repeating: 2, count: 512))
        XCTAssertEqual(huge.refusal(of: step(tasks: [big]), within: limits)?.key, "task_memory")
    }

    // MARK: SNAPSHOT

    func chunk(table: SnapshotTable = .bank, first: Int = 0, rows: Int = 5, dim: Int = 4, value: Float = 1,
               count: Int = 3) -> SnapshotChunk {
        SnapshotChunk(version: 2, table: table, firstRow: first, rowCount: rows, chunkIndex: 0, chunkCount: count,
                      dim: dim, values: [Float](repeating: value, count: rows * dim))
    }

    func testSnapshotChunksOutsideTheTablesAreRefused() {
        let s = spec()
        XCTAssertNil(s.refusal(of: chunk()))
        XCTAssertNil(s.refusal(of: chunk(table: .users, first: 5, rows: 5)))
        XCTAssertEqual(s.refusal(of: chunk(table: .users, first: 6, rows: 5))?.key, "snapshot_rows")
        XCTAssertEqual(s.refusal(of: chunk(first: 19, rows: 2))?.key, "snapshot_rows")
        XCTAssertEqual(s.refusal(of: chunk(first: Int(UInt32.max), rows: 1))?.key, "snapshot_rows")
        XCTAssertEqual(s.refusal(of: chunk(rows: 0))?.key, "snapshot_rows")
        XCTAssertEqual(s.refusal(of: chunk(dim: 3))?.key, "snapshot_dim")
        XCTAssertEqual(s.refusal(of: chunk(value: .nan))?.key, "snapshot_not_finite")
        XCTAssertEqual(s.refusal(of: chunk(count: 51))?.key, "snapshot_chunk_count")
    }

    // MARK: text

    func testPeerTextIsEscapedForLogs() {
        XCTAssertEqual(PeerText.escaped("worker-1"), "worker-1")
        XCTAssertEqual(PeerText.escaped("a\nb\rc\td"), "a\\nb\\rc\\td")
        XCTAssertEqual(PeerText.escaped("\u{1B}[31mred\u{0}"), "\\u{1b}[31mred\\u{0}")
        XCTAssertEqual(PeerText.escaped("q\"\\"), "q\\\"\\\\")
        XCTAssertEqual(PeerText.escaped("\u{202E}evil"), "\\u{202e}evil")
        XCTAssertEqual(PeerText.escaped(String(repeating: "x", count: 10), limit: 4), "xxxx…")
        XCTAssertEqual(PeerText.escaped("zürich ✓"), "zürich ✓")
    }

    func testRejectReasonsSayWhichAreFinal() {
        XCTAssertEqual(RejectReason.allCases.filter(\.isFinal), [.unsupportedVersion, .notAdmitted, .tooManyWorkers, .dropped])
        XCTAssertEqual(RejectReason.allCases.map(\.rawValue), Array(1 ... 8))
    }

    func testLogMatchesTheLibraryLogarithm() {
        for x in [1e-9, 0.3, 1, 2, 27, 1e6, 3.5e12] { XCTAssertEqual(Wire.log(x), Foundation.log(x), accuracy: 1e-12 * max(1, abs(Foundation.log(x)))) }
    }
}
