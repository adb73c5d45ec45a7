import Kernels
import Replication
import RunSettings
import Wire
@testable import Worker
import XCTest

/// Honest gradients of every loss pass the coordinator's contract (no false refusal can stall a run), and each
/// kind of tampering is refused with its own key.
final class GradientContractTests: XCTestCase {
    private let users = 8, items = 20, dim = 4
    private let counts: [Float] = (0 ..< 20).map { Float(($0 * 7) % 11) + 0.5 }

    private func spec(loss: LossKind = .bankInfoNCE, similarity: Similarity = .cosine,
                      logQ: Bool = false, mix: Bool = false, live: Bool = false, tauPlus: Float? = nil,
                      temperature: Float = 0.2, negatives: Int = 16) -> TrainingSpec {
        TrainingSpec(users: users, items: items, dim: dim,
                     loss: LossSettings(kind: loss, similarity: similarity, temperature: temperature,
                                        negatives: negatives, removeAccidentalHits: true, logQCorrection: logQ,
                                        mixInBatch: mix, liveNegatives: live, positiveTemperature: tauPlus,
                                        cclMargin: 0.5, cclNegativeWeight: 150),
                     sampler: .popularity, popularityAlpha: 0.75, seed: 314, popularity: counts)
    }

    private func replica(std: Float = 1) -> WholeTables { WholeTables(users: users, items: items, dim: dim, std: std) }

    private func task(pairs: Int = 6) -> MinibatchTask {
        MinibatchTask(epoch: 2, minibatch: 3, users: (0 ..< pairs).map { UInt32(($0 * 3) % users) },
                      items: (0 ..< pairs).map { UInt32(($0 * 5 + 1) % items) })
    }

    private var allSpecs: [TrainingSpec] {
        [spec(), spec(logQ: true), spec(live: true), spec(tauPlus: 0.25), spec(live: true, tauPlus: 0.15),
         spec(similarity: Similarity.dot), spec(temperature: 0.02),
         spec(loss: LossKind.inBatchInfoNCE), spec(loss: LossKind.inBatchInfoNCE, mix: true),
         spec(loss: LossKind.mnr), spec(loss: LossKind.bpr), spec(loss: LossKind.ccl),
         spec(loss: LossKind.ccl, live: true)]
    }

    func testHonestGradientsOfEveryLossPassTheirContract() throws {
        for s in allSpecs {
            for std: Float in [1e-3, 1, 30, 1e4] {
                let computer = try TaskComputer(spec: s)
                let negatives = try XCTUnwrap(TaskNegatives(spec: s))
                let r = replica(std: std)
                for pairs in [1, 6, 13] {
                    let t = task(pairs: pairs)
                    let g = try computer.gradient(for: t, step: 1, tables: r, hash: 0)
                    XCTAssertTrue(g.users.values.allSatisfy(\.isFinite))
                    XCTAssertNil(contract(negatives, t, r).refusal(of: g), "loss \(s.loss.kind) live \(s.loss.liveNegatives) std \(std) pairs \(pairs)")
                }
            }
        }
    }

    private func contract(_ n: TaskNegatives, _ t: MinibatchTask, _ r: WholeTables) -> GradientContract {
        n.contract(for: t, users: r.users, items: r.items, bank: r.bank)
    }

    func testLiveNegativesAreTrainedRowsAndBankNegativesAreNot() throws {
        let t = task()
        let r = replica()
        let bank = contract(try XCTUnwrap(TaskNegatives(spec: spec())), t, r)
        XCTAssertEqual(bank.items, Array(Set(t.items)).sorted())
        let live = contract(try XCTUnwrap(TaskNegatives(spec: spec(live: true))), t, r)
        let drawn = try XCTUnwrap(TaskNegatives(spec: spec(live: true))).draw(for: t).ids
        XCTAssertEqual(live.items, Array(Set(t.items + drawn)).sorted())
    }

    /// Each tampering of an honest gradient, and the key it is refused with.
    func testEveryTamperingIsRefusedWithItsKey() throws {
        let s = spec()
        let t = task()
        let r = replica()
        let honest = try TaskComputer(spec: s).gradient(for: t, step: 1, tables: r, hash: 0)
        let contract = self.contract(try XCTUnwrap(TaskNegatives(spec: s)), t, r)
        XCTAssertNil(contract.refusal(of: honest))
        func refused(_ edit: (inout Gradient) -> Void) -> String? {
            var g = honest
            edit(&g)
            return contract.refusal(of: g)?.key
        }
        XCTAssertEqual(refused { $0.examples = 0 }, "gradient_examples")
        XCTAssertEqual(refused { $0.examples += 1 }, "gradient_examples")
        XCTAssertEqual(refused { $0.lossSum = .nan }, "gradient_loss_not_finite")
        XCTAssertEqual(refused { $0.lossSum = -5 }, "gradient_loss_range")
        XCTAssertEqual(refused { $0.lossSum = 1e9 }, "gradient_loss_range")
        XCTAssertEqual(refused { $0.users.values[0] = .nan }, "gradient_users_not_finite")
        XCTAssertEqual(refused { $0.items.values[1] = .infinity }, "gradient_items_not_finite")
        XCTAssertEqual(refused { $0.items.values[2] = -.infinity }, "gradient_items_not_finite")
        XCTAssertEqual(refused { $0.users.values[3] = 3e38 }, "gradient_users_too_large")
        XCTAssertEqual(refused { $0.users.ids[1] = $0.users.ids[0] }, "gradient_users_duplicate_row")
        XCTAssertEqual(refused { $0.users = RowBlock(dim: 3, ids: [0], values: [1, 2, 3]) }, "gradient_users_dim")
        XCTAssertEqual(refused { $0.items = RowBlock.empty(dim: 0) }, "gradient_items_dim")
        XCTAssertEqual(refused { g in
            let outsider = (0 ..< UInt32(users)).first { !t.users.contains($0) }!
            g.users = RowBlock(dim: dim, ids: [outsider], values: [0.1, 0.1, 0.1, 0.1])
        }, "gradient_foreign_user")
        XCTAssertEqual(refused { $0.users = RowBlock(dim: dim, ids: [0xFFFF_FFFF], values: [0, 0, 0, 0]) }, "gradient_foreign_user")
        XCTAssertEqual(refused { g in
            let outsider = (0 ..< UInt32(items)).first { !t.items.contains($0) }!
            g.items = RowBlock(dim: dim, ids: [outsider], values: [0.1, 0.1, 0.1, 0.1])
        }, "gradient_foreign_item")
    }

    /// The bound follows the rows' norms: a gradient 100 times the largest honest one is refused, whatever the scale.
    func testTheValueBoundScalesWithTheRowsAndStillCatchesInflatedGradients() throws {
        for s in [spec(), spec(similarity: .dot), spec(loss: .bpr)] {
            for std: Float in [1e-2, 1, 100] {
                let r = replica(std: std)
                let t = task()
                var g = try TaskComputer(spec: s).gradient(for: t, step: 1, tables: r, hash: 0)
                let c = contract(try XCTUnwrap(TaskNegatives(spec: s)), t, r)
                XCTAssertNil(c.refusal(of: g))
                let largest = g.users.values.map(abs).max()!
                XCTAssertLessThan(largest, c.maxAbs)
                g.users.values[0] = c.maxAbs * 1.01
                XCTAssertEqual(c.refusal(of: g)?.key, "gradient_users_too_large", "loss \(s.loss.kind) std \(std)")
            }
        }
    }

    func testLossRangeFollowsTheLoss() {
        XCTAssertEqual(spec().lossSumRange(pairs: 10).lowerBound, -0.01, accuracy: 1e-5)
        // cosine, τ 0.2, no logQ: at most 2/τ + log(K + B + 1) per pair
        XCTAssertEqual(spec().lossSumRange(pairs: 10).upperBound, 10 * (10 + log(27.0)) + 0.01, accuracy: 1e-6)
        XCTAssertEqual(spec(logQ: true).lossSumRange(pairs: 10).upperBound, .greatestFiniteMagnitude)
        XCTAssertEqual(spec(similarity: Similarity.dot).lossSumRange(pairs: 10).upperBound, .greatestFiniteMagnitude)
        XCTAssertLessThan(spec(tauPlus: 0.25).lossSumRange(pairs: 10).lowerBound, -10 * (4 + 5) + 0.01)
        XCTAssertEqual(spec(loss: LossKind.ccl).lossSumRange(pairs: 2).upperBound, 2 * 302 + 0.002, accuracy: 1e-6)
    }
}
