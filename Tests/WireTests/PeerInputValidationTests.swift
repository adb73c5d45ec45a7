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
            (spec(users: 100_000_000, items: 100_000_000, dim: 4), "spec_memory"),
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
        // Negatives read from one table only; trained bank negatives need a loss that reads bank negatives.
        var both = spec()
        both.loss.liveNegatives = true
        both.loss.trainedBankNegatives = true
        XCTAssertEqual(both.refusal(within: limits)?.key, "spec_negatives_source")
        var noBank = spec(negatives: 0, loss: .mnr)
        noBank.loss.trainedBankNegatives = true
        XCTAssertEqual(noBank.refusal(within: limits)?.key, "spec_negatives_source")
        var trained = spec()
        trained.loss.trainedBankNegatives = true
        XCTAssertNil(trained.refusal(within: limits))
        // Hard negatives: the bank InfoNCE loss with trained negatives, M within a pool within the limit.
        var hard = trained
        hard.loss.hardNegatives = 4
        hard.loss.hardNegativePool = 16
        XCTAssertNil(hard.refusal(within: limits))
        var constant = hard
        constant.loss.trainedBankNegatives = false
        var inBatch = hard
        inBatch.loss.kind = .inBatchInfoNCE
        inBatch.loss.mixInBatch = true
        var overPool = hard
        overPool.loss.hardNegatives = 17
        var hugePool = hard
        hugePool.loss.hardNegativePool = limits.maxNegatives + 1
        var skipped = hard
        skipped.loss.hardNegativeSkip = 12
        XCTAssertNil(skipped.refusal(within: limits))
        var overSkipped = hard
        overSkipped.loss.hardNegativeSkip = 13   // 4 + 13 > 16
        for s in [constant, inBatch, overPool, hugePool, overSkipped] {
            XCTAssertEqual(s.refusal(within: limits)?.key, "spec_hard_negatives", "\(s.loss)")
        }
    }

    func testMemoryArithmeticDoesNotOverflow() {
        XCTAssertNil(InputLimits.specBytes(users: .max / 2, items: .max / 2, seenPairs: 4))
        XCTAssertEqual(InputLimits.specBytes(users: 10, items: 20, seenPairs: 30), 10 * 8 + 20 * 12 + 30 * 4)
        XCTAssertNil(InputLimits.taskBytes(pairs: .max / 2, negatives: .max / 2))
        XCTAssertEqual(InputLimits.taskBytes(pairs: 2, negatives: 5), 2 * 8 * 8)
    }

    // MARK: STEP

    func block(_ ids: [UInt32], dim: Int = 4, value: Float = 0.5) -> RowBlock {
        RowBlock(dim: dim, ids: ids, values: [Float](repeating: value, count: ids.count * dim))
    }

    func step(users: RowBlock? = nil, items: RowBlock? = nil, bank: RowBlock? = nil,
              tasks: [MinibatchTask] = []) -> Step {
        Step(step: 4, version: 4, users: users ?? block([1, 2]), items: items ?? block([3, 4]),
             bank: bank ?? block([3]), tasks: tasks)
    }

    func testStepsThatWouldCrashOrPoisonAWorkerAreRefused() {
        let s = spec()
        let good = MinibatchTask(epoch: 0, minibatch: 1, users: [1, 2], items: [3, 4])
        XCTAssertNil(s.refusal(of: step(tasks: [good]), within: limits))
        XCTAssertNil(s.refusal(of: Step(step: 0, version: 0, users: .empty(dim: 4), items: .empty(dim: 4),
                                        bank: .empty(dim: 4), tasks: []), within: limits), "no rows, no tasks")
        let cases: [(Step, String)] = [
            (step(users: block([10])), "step_users_row_range"),
            (step(items: block([20])), "step_items_row_range"),
            (step(bank: block([0xFFFF_FFFF])), "step_bank_row_range"),
            (step(users: block([1], dim: 5)), "step_users_dim"),
            (step(bank: RowBlock.empty(dim: 0)), "step_bank_dim"),
            (step(items: block([2, 2])), "step_items_duplicate_row"),
            (step(items: block([3, 2])), "step_items_order"),
            (step(bank: block([1], value: .nan)), "step_bank_not_finite"),
            (step(users: block([1], value: .infinity)), "step_users_not_finite"),
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
