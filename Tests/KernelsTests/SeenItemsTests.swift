import Foundation
@testable import Kernels
import RunSettings
import TestSupport
import XCTest

/// Masking of the users' training items among their negatives (`SeenItems`): the lists, and every loss through the
/// gradient computer against the float64 reference given the same lists.
final class SeenItemsTests: XCTestCase {
    func testPairsAreGroupedSortedAndWithoutRepeats() {
        let seen = SeenItems(users: [2, 0, 2, 2, 0, 2], items: [5, 3, 1, 5, 3, 0], userCount: 4, itemCount: 6)
        XCTAssertEqual(seen.offsets, [0, 1, 1, 4, 4])
        XCTAssertEqual(Array(seen[0]), [3])
        XCTAssertEqual(Array(seen[1]), [])
        XCTAssertEqual(Array(seen[2]), [0, 1, 5])
        XCTAssertEqual(seen.counts, [1, 0, 3, 0])
        XCTAssertTrue(seen.contains(user: 2, item: 1))
        XCTAssertFalse(seen.contains(user: 2, item: 2))
        XCTAssertFalse(seen.contains(user: 3, item: 0))
        XCTAssertEqual(try SeenItems(counts: seen.counts, items: seen.items, itemCount: 6), seen)
    }

    func testMalformedListsAreRefused() {
        XCTAssertThrowsError(try SeenItems(counts: [1, 2], items: [0, 1], itemCount: 4)) {
            XCTAssertEqual($0 as? SeenItems.ValidationError, .total(3, items: 2))
        }
        XCTAssertThrowsError(try SeenItems(counts: [1, 2], items: [0, 3, 3], itemCount: 4)) {
            XCTAssertEqual($0 as? SeenItems.ValidationError, .notAscending(user: 1, item: 3, after: 3))
        }
        XCTAssertThrowsError(try SeenItems(counts: [1, 2], items: [0, 3, 1], itemCount: 4)) {
            XCTAssertEqual($0 as? SeenItems.ValidationError, .notAscending(user: 1, item: 1, after: 3))
        }
        XCTAssertThrowsError(try SeenItems(counts: [2], items: [1, 4], itemCount: 4)) {
            XCTAssertEqual($0 as? SeenItems.ValidationError, .itemOutOfRange(user: 0, item: 4, itemCount: 4))
        }
    }

    /// Random lists for the problem's users; each user's list holds some of the batch's positives and negatives, so
    /// that negatives and other rows' positives are masked by the lists and not only by the row's own positive.
    private func randomSeenItems(_ p: LossFixtures.Problem, seed: UInt64) -> SeenItems {
        var random = SeededRandom(seed: seed)
        let candidates = p.items + p.negatives
        var users: [UInt32] = [], items: [UInt32] = []
        for u in 0 ..< p.userTable.rows {
            for _ in 0 ..< random.nextInt(below: 6) {
                users.append(UInt32(u))
                items.append(random.nextInt(below: 2) == 0 && !candidates.isEmpty
                             ? candidates[random.nextInt(below: candidates.count)]
                             : UInt32(random.nextInt(below: p.itemTable.rows)))
            }
        }
        for (u, i) in zip(p.users, p.items) { users.append(u); items.append(i) }   // the training pairs themselves
        return SeenItems(users: users, items: items, userCount: p.userTable.rows, itemCount: p.itemTable.rows)
    }

    private func check(_ settings: LossSettings, _ p: LossFixtures.Problem, seen: SeenItems, negatives: [UInt32],
                       logQ: [Float]?, blockRows: Int? = nil, threads: Int = 1, context: String) {
        let computer = MinibatchGradientComputer(settings: settings, dim: p.userTable.dim, seenItems: seen)
        computer.bankBlockRows = blockRows
        computer.kernelThreads = threads
        let out = computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                   bank: p.bank, negatives: negatives, negativeLogQ: logQ)
        let rowSeen = p.users.map { Array(seen[Int($0)]) }
        let U = LossFixtures.rows(p.userTable, p.users), P = LossFixtures.rows(p.itemTable, p.items)
        let live = settings.liveNegatives || settings.kind == .bpr
        let N = LossFixtures.rows(live ? p.itemTable : p.bank, negatives)
        let offsets = logQ.map { $0.map { Double($0) + log(Double(negatives.count)) } }
        func reference(_ rowSeen: [[UInt32]]?) -> LossReference.Result {
            switch settings.kind {
            case .bpr:
                return LossReference.bpr(users: U, positives: P, negatives: N, positiveIds: p.items,
                                         negativeIds: negatives, rowSeenItems: rowSeen)
            case .ccl:
                return LossReference.ccl(users: U, positives: P, negatives: N, margin: Double(settings.cclMargin),
                                         weight: Double(settings.cclNegativeWeight), positiveIds: p.items,
                                         negativeIds: negatives, rowSeenItems: rowSeen)
            default:
                return LossReference.contrastive(
                    users: U, positives: P, negatives: N, similarity: settings.effectiveSimilarity,
                    temperature: Double(settings.temperature), inBatch: settings.isInBatch, positiveIds: p.items,
                    negativeIds: negatives, negativeLogitOffset: offsets,
                    positiveTemperature: settings.positiveTemperature.map(Double.init), rowSeenItems: rowSeen)
            }
        }
        let expected = reference(rowSeen)
        // The lists must matter here, or the comparison would not test them.
        XCTAssertNotEqual(expected.lossSum, reference(nil).lossSum, accuracy: 1e-6, "lists mask nothing: \(context)")
        XCTAssertEqual(out.lossSum, expected.lossSum, accuracy: 1e-4 * abs(expected.lossSum) + 1e-5, context)
        LossFixtures.assertGradientsMatch(out, expected, problem: p, negatives: negatives, live: live, context)
    }

    /// Every loss with the users' lists masked, on random problems: the bank kernel (blocks and threads), the
    /// general softmax kernel (in-batch, mixed, live, CCL) and BPR, each against the reference.
    func testEveryLossMasksTheUsersItemsLikeTheReference() {
        let configurations: [LossSettings] = [
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1, maskSeenItems: true),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.02, positiveTemperature: 0.1,
                         maskSeenItems: true),
            LossSettings(kind: .bankInfoNCE, similarity: .dot, temperature: 0.5, logQCorrection: true,
                         maskSeenItems: true),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.17, liveNegatives: true,
                         positiveTemperature: 0.18, maskSeenItems: true),
            LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 0.1, maskSeenItems: true),
            LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 0.1, logQCorrection: true,
                         mixInBatch: true, maskSeenItems: true),
            LossSettings(kind: .mnr, similarity: .dot, temperature: 1, maskSeenItems: true),
            LossSettings(kind: .ccl, cclMargin: 0.1, cclNegativeWeight: 5, maskSeenItems: true),
            LossSettings(kind: .bpr, maskSeenItems: true),
        ]
        let blasThreads = BLAS.threads   // several kernel threads need OpenBLAS single-threaded
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        var random = SeededRandom(seed: 31)
        for (c, settings) in configurations.enumerated() {
            for trial in 0 ..< 3 {
                let B = 8 + random.nextInt(below: 40), K = 1 + random.nextInt(below: 200), d = 4 + random.nextInt(below: 30)
                let p = LossFixtures.randomProblem(batch: B, negatives: K, dim: d, seed: UInt64(500 * c + trial))
                let seen = randomSeenItems(p, seed: UInt64(700 * c + trial))
                let negatives: [UInt32] = switch settings.kind {
                case .bpr: (0 ..< B).map { b in b % 3 == 0 ? p.negatives[b % K] : UInt32(random.nextInt(below: p.itemTable.rows)) }
                case .mnr, .inBatchInfoNCE: settings.mixInBatch ? p.negatives : []
                default: p.negatives
                }
                let logQ = settings.logQCorrection ? negatives.map { _ in Float(-3 - 4 * random.nextUnit()) } : nil
                let context = "config \(c) trial \(trial) B=\(B) K=\(negatives.count) d=\(d)"
                check(settings, p, seen: seen, negatives: negatives, logQ: logQ, context: context)
                if settings.kind == .bankInfoNCE && !settings.liveNegatives {
                    for (rows, threads) in [(1, 1), (5, 1), (8, 3)] {
                        check(settings, p, seen: seen, negatives: negatives, logQ: logQ, blockRows: rows,
                              threads: threads, context: context + " block rows \(rows) threads \(threads)")
                    }
                }
            }
        }
    }

    /// What one minibatch leaves in the lookup table does not change the next: a computer that has scored one
    /// minibatch scores another as a fresh one does.
    func testLookupTableDoesNotCarryOverBetweenMinibatches() {
        for settings in [LossSettings(kind: .bankInfoNCE, maskSeenItems: true),
                         LossSettings(kind: .inBatchInfoNCE, mixInBatch: true, maskSeenItems: true)] {
            let first = LossFixtures.randomProblem(batch: 30, negatives: 90, dim: 8, seed: 1)
            var second = LossFixtures.randomProblem(batch: 30, negatives: 90, dim: 8, seed: 2)
            second.userTable = first.userTable
            second.itemTable = first.itemTable
            second.bank = first.bank
            second.users = second.users.map { $0 % UInt32(first.userTable.rows) }
            second.items = second.items.map { $0 % UInt32(first.itemTable.rows) }
            second.negatives = second.negatives.map { $0 % UInt32(first.itemTable.rows) }
            let seen = randomSeenItems(first, seed: 3)
            func run(_ p: LossFixtures.Problem, on computer: MinibatchGradientComputer) -> MinibatchGradient {
                computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                 bank: p.bank, negatives: p.negatives, negativeLogQ: nil)
            }
            let reused = MinibatchGradientComputer(settings: settings, dim: 8, seenItems: seen)
            _ = run(first, on: reused)
            let again = run(second, on: reused)
            let fresh = run(second, on: MinibatchGradientComputer(settings: settings, dim: 8, seenItems: seen))
            XCTAssertEqual(again.lossSum, fresh.lossSum)
            XCTAssertEqual(again.users, fresh.users)
            XCTAssertEqual(again.items, fresh.items)
        }
    }
}
