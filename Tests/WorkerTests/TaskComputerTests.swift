import Kernels
import Replication
import RunSettings
import Wire
@testable import Worker
import XCTest

final class TaskComputerTests: XCTestCase {
    private let users = 8, items = 20, dim = 4
    private let counts: [Float] = (0 ..< 20).map { Float(($0 * 7) % 11) + 0.5 }

    private func spec(loss: LossKind = .bankInfoNCE, sampler: SamplerKind = .popularity,
                      logQ: Bool = false, mix: Bool = false, negatives: Int = 16) -> TrainingSpec {
        TrainingSpec(users: users, items: items, dim: dim,
                     loss: LossSettings(kind: loss, temperature: 0.2, negatives: negatives, removeAccidentalHits: true,
                                        logQCorrection: logQ, mixInBatch: mix),
                     sampler: sampler, popularityAlpha: 0.75, seed: 314,
                     popularity: sampler == .popularity ? counts : [])
    }

    private func replica(std: Float = 1) -> WholeTables { WholeTables(users: users, items: items, dim: dim, std: std) }

    private func task(minibatch: UInt32 = 3, pairs: Int = 6) -> MinibatchTask {
        MinibatchTask(epoch: 2, minibatch: minibatch, users: (0 ..< pairs).map { UInt32(($0 * 3) % users) },
                      items: (0 ..< pairs).map { UInt32(($0 * 5 + 1) % items) })
    }

    private func bits(_ block: RowBlock) -> [UInt32] { block.values.map(\.bitPattern) }

    /// Two computers (as on two workers) with two replicas of the same state give the same negatives and a
    /// bit-identical gradient; computing another task in between changes nothing.
    func testSameTaskGivesTheSameNegativesAndGradientEverywhere() throws {
        for s in [spec(), spec(logQ: true), spec(loss: LossKind.inBatchInfoNCE, mix: true),
                  spec(loss: LossKind.bpr)] {
            let a = try TaskComputer(spec: s), b = try TaskComputer(spec: s)
            let replicaA = replica(), replicaB = replica()
            XCTAssertEqual(a.negatives(for: task()).ids, b.negatives(for: task()).ids)
            XCTAssertEqual(a.negatives(for: task()).logQ, b.negatives(for: task()).logQ)
            let first = try a.gradient(for: task(), step: 9, tables: replicaA, hash: 0)
            _ = try b.gradient(for: task(minibatch: 4, pairs: 9), step: 9, tables: replicaB, hash: 0)   // dirty scratch
            let second = try b.gradient(for: task(), step: 9, tables: replicaB, hash: 0)
            XCTAssertEqual(first, second, "loss \(s.loss)")
            XCTAssertEqual(bits(first.users), bits(second.users))
            XCTAssertEqual(bits(first.items), bits(second.items))
            XCTAssertEqual(first.lossSum.bitPattern, second.lossSum.bitPattern)
            XCTAssertFalse(first.users.isEmpty)
            XCTAssertGreaterThan(first.lossSum, 0)
        }
    }

    /// With the users' lists in the spec, the gradient is the computer's with those lists: different from the
    /// one without them when a negative is in a user's list.
    func testSeenItemsFromTheSpecReachTheComputer() throws {
        let t = task(pairs: 8)
        let plain = spec(negatives: 19)
        var masked = plain
        masked.loss.maskSeenItems = true
        let seen = SeenItems(users: t.users + t.users, items: t.items + t.users.map { ($0 * 2 + 3) % UInt32(items) },
                             userCount: users, itemCount: items)
        masked.seenCounts = seen.counts
        masked.seenItems = seen.items
        let computer = try TaskComputer(spec: masked)
        XCTAssertTrue(computer.loss.maskSeenItems)
        let negatives = computer.negatives(for: t).ids
        XCTAssertTrue(zip(t.users, t.items).contains { pair in
            negatives.contains { seen.contains(user: Int(pair.0), item: $0) && $0 != pair.1 }
        }, "no negative is in a list: the comparison below would not test them")
        let r = replica()
        let got = try computer.gradient(for: t, step: 1, tables: r, hash: 0)
        let expected = MinibatchGradientComputer(settings: computer.loss, dim: dim, seenItems: seen).compute(
            users: t.users, items: t.items, userTable: r.users, itemTable: r.items, bank: r.bank,
            negatives: negatives, negativeLogQ: nil)
        XCTAssertEqual(got.lossSum, expected.lossSum)
        XCTAssertNotEqual(got.lossSum, try TaskComputer(spec: plain).gradient(for: t, step: 1, tables: r, hash: 0).lossSum)
    }

    /// The negatives are the minibatch stream's draws from the spec's sampler, and the gradient is the kernel's
    /// result with exactly those negatives.
    func testNegativesComeFromTheMinibatchStream() throws {
        let s = spec(logQ: true)
        let computer = try TaskComputer(spec: s)
        let sampler = try XCTUnwrap(s.negativeSampler)
        var stream = negativeStream(seed: 314, epoch: 2, minibatch: 3)
        let expected = sampler.sample(count: 16, random: &stream)
        let (ids, logQ) = computer.negatives(for: task())
        XCTAssertEqual(ids, expected)
        XCTAssertEqual(logQ, expected.map { sampler.logProbability($0) })
        XCTAssertNotEqual(computer.negatives(for: task(minibatch: 4)).ids, ids, "another minibatch, other negatives")

        let r = replica()
        let g = try computer.gradient(for: task(), step: 11, tables: r, hash: 0xABC)
        let reference = MinibatchGradientComputer(settings: s.loss, dim: dim).compute(
            users: task().users, items: task().items, userTable: r.users, itemTable: r.items, bank: r.bank,
            negatives: expected, negativeLogQ: logQ)
        XCTAssertEqual(g, Gradient(step: 11, version: 6, epoch: 2, minibatch: 3, examples: 6,
                                   lossSum: reference.lossSum, rowsHash: 0xABC,
                                   users: RowBlock(reference.users), items: RowBlock(reference.items)))
    }

    /// A worker holds no tables: what it computes from the rows of its STEP alone (several tasks sharing one
    /// STEP's blocks) is bit-identical to the kernel's result on the whole tables, for every loss.
    func testTheRowsOfAStepGiveTheGradientOfTheWholeTables() throws {
        var live = spec(negatives: 12)
        live.loss.liveNegatives = true
        var seen = spec(negatives: 19)
        seen.loss.maskSeenItems = true
        let lists = SeenItems(users: task(pairs: 8).users, items: task(pairs: 8).items.map { ($0 + 2) % UInt32(items) },
                              userCount: users, itemCount: items)
        seen.seenCounts = lists.counts
        seen.seenItems = lists.items
        let tables = replica()
        for s in [spec(), spec(logQ: true), live, seen, spec(loss: LossKind.inBatchInfoNCE, mix: true),
                  spec(loss: LossKind.mnr), spec(loss: LossKind.bpr), spec(loss: LossKind.ccl)] {
            let computer = try TaskComputer(spec: s)
            let tasks = [task(minibatch: 3, pairs: 6), task(minibatch: 8, pairs: 11)]
            let message = tables.step(tasks, spec: s, step: 4)
            XCTAssertLessThan(message.users.count + message.items.count + message.bank.count,
                              users + 2 * items, "the STEP carries less than the tables")
            let rows = StepRows(message, dim: dim)
            for t in tasks {
                let got = try computer.gradient(for: t, of: message, rows: rows, hash: 0)
                let (negatives, logQ) = computer.negatives(for: t)
                let whole = MinibatchGradientComputer(settings: computer.loss, dim: dim,
                                                      seenItems: try s.seenItemLists()).compute(
                    users: t.users, items: t.items, userTable: tables.users, itemTable: tables.items,
                    bank: tables.bank, negatives: negatives, negativeLogQ: logQ)
                XCTAssertEqual(got.lossSum.bitPattern, whole.lossSum.bitPattern, "\(s.loss)")
                XCTAssertEqual(got.users, RowBlock(whole.users), "\(s.loss)")
                XCTAssertEqual(got.items, RowBlock(whole.items), "\(s.loss)")
                XCTAssertEqual(bits(got.users), whole.users.values.map(\.bitPattern))
                XCTAssertEqual(bits(got.items), whole.items.values.map(\.bitPattern))
            }
        }
    }

    /// A STEP that lacks a row a task reads is refused with the table and the row; nothing is computed.
    func testAStepWithoutARowTheTaskReadsIsRefused() throws {
        var live = spec()
        live.loss.liveNegatives = true
        for (s, table) in [(spec(), "bank"), (live, "item")] {
            let computer = try TaskComputer(spec: s)
            let t = task()
            var message = replica().step([t], spec: s, step: 4)
            var block = table == "bank" ? message.bank : message.items
            let dropped = block.ids.removeLast()
            block.values.removeLast(dim)
            if table == "bank" { message.bank = block } else { message.items = block }
            XCTAssertThrowsError(try computer.gradient(for: t, of: message, rows: StepRows(message, dim: dim), hash: 0)) {
                XCTAssertEqual(($0 as? Refusal)?.key, "step_\(table)_row_missing")
                XCTAssertTrue(($0 as? Refusal)?.detail.contains("\(dropped)") ?? false, "\($0)")
            }
            var noUser = replica().step([t], spec: s, step: 4)
            noUser.users = RowBlock(dim: dim)
            XCTAssertThrowsError(try computer.gradient(for: t, of: noUser, rows: StepRows(noUser, dim: dim), hash: 0)) {
                XCTAssertEqual(($0 as? Refusal)?.key, "step_user_row_missing")
            }
        }
    }

    func testBPRDrawsOneNegativePerPairWithoutLogQ() throws {
        let computer = try TaskComputer(spec: spec(loss: LossKind.bpr, logQ: true, negatives: 16))
        for pairs in [1, 5, 40] {
            let (ids, logQ) = computer.negatives(for: task(pairs: pairs))
            XCTAssertEqual(ids.count, pairs)
            XCTAssertNil(logQ, "BPR scores live items: no logQ correction")
        }
        // Negatives are live items, so their rows are in the item gradient.
        let t = task(pairs: 5)
        let g = try computer.gradient(for: t, step: 1, tables: replica(), hash: 0)
        XCTAssertEqual(Set(g.items.ids), Set(t.items + computer.negatives(for: t).ids))
    }

    func testInBatchLossesDrawBankNegativesOnlyWhenMixing() throws {
        for loss in [LossKind.inBatchInfoNCE, LossKind.mnr] {
            let pure = try TaskComputer(spec: spec(loss: loss, logQ: true))
            XCTAssertEqual(pure.negatives(for: task()).ids, [], "loss \(loss) without mixing")
            XCTAssertNil(pure.negatives(for: task()).logQ)
        }
        let mixed = try TaskComputer(spec: spec(loss: LossKind.inBatchInfoNCE, mix: true, negatives: 7))
        XCTAssertEqual(mixed.negatives(for: task()).ids.count, 7)
        // MNR never reads the bank, even with the mixing flag.
        XCTAssertEqual(try TaskComputer(spec: spec(loss: LossKind.mnr, mix: true)).negatives(for: task()).ids, [])
    }

    func testLogQArrayOnlyWhenEnabled() throws {
        for (loss, mix) in [(LossKind.bankInfoNCE, false), (LossKind.inBatchInfoNCE, true)] {
            let on = try TaskComputer(spec: spec(loss: loss, logQ: true, mix: mix, negatives: 9))
            let off = try TaskComputer(spec: spec(loss: loss, logQ: false, mix: mix, negatives: 9))
            XCTAssertEqual(on.negatives(for: task()).logQ?.count, 9, "loss \(loss)")
            XCTAssertNil(off.negatives(for: task()).logQ, "loss \(loss)")
            XCTAssertEqual(on.negatives(for: task()).ids, off.negatives(for: task()).ids)
        }
        // Uniform sampler: every log-probability is −log(items).
        let uniform = try TaskComputer(spec: spec(sampler: SamplerKind.uniform, logQ: true))
        let logQ = try XCTUnwrap(uniform.negatives(for: task()).logQ)
        for value in logQ { XCTAssertEqual(value, -logf(Float(items)), accuracy: 1e-6) }
    }

    func testUnusableSpecsThrowAClearError() {
        var missingCounts = spec()
        missingCounts.popularity = []
        var negativeAlpha = spec()
        negativeAlpha.popularityAlpha = -1
        var unsortedSeen = spec()
        unsortedSeen.loss.maskSeenItems = true
        unsortedSeen.seenCounts = [2] + [UInt32](repeating: 0, count: users - 1)
        unsortedSeen.seenItems = [5, 2]
        var seenOutOfRange = unsortedSeen
        seenOutOfRange.seenItems = [2, UInt32(items)]
        // (Unknown loss, similarity and sampler codes cannot reach a spec: the decoder refuses them, WireCodecTests.)
        for (s, words) in [(missingCounts, "popularity counts"), (negativeAlpha, "alpha -1"),
                           (unsortedSeen, "not ascending"), (seenOutOfRange, "outside 0..<20")] {
            XCTAssertThrowsError(try TaskComputer(spec: s), words) { error in
                guard let error = error as? TaskComputer.SpecError else { return XCTFail("\(error)") }
                XCTAssertTrue(error.description.contains(words), error.description)
            }
        }
    }
}
