import Kernels
import RunSettings
import TestSupport
import XCTest

final class ContrastiveSoftmaxTests: XCTestCase {
    // MARK: golden files (float64 NumPy; MEAN over B, the kernels return sums)

    func testBankInfoNCEMatchesGolden() throws {
        let g = try GoldenFile("infonce_memory_bank")
        let users = g.matrix("users"), positives = g.matrix("positives"), bank = g.matrix("bank")
        let B = Double(users.count)
        let ids = users.indices.map { UInt32($0) }, negatives = bank.indices.map { UInt32($0) }
        let settings = LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: Float(g.number("temperature")),
                                    negatives: bank.count, removeAccidentalHits: false)

        let reference = LossReference.contrastive(users: users, positives: positives, negatives: bank,
                                                  similarity: .cosine, temperature: g.number("temperature"),
                                                  inBatch: false)
        XCTAssertEqual(reference.lossSum / B, g.number("loss"), accuracy: 1e-12)
        XCTAssertLessThan(maxRelativeError(flatten(reference.users).map { $0 / B }, flatten(g.matrix("grad_users"))), 1e-5)   // the golden gradients agree to ~1e-6 only

        let computer = MinibatchGradientComputer(settings: settings, dim: users[0].count)
        let out = computer.compute(users: ids, items: ids, userTable: LossFixtures.table(users),
                                   itemTable: LossFixtures.table(positives), bank: LossFixtures.table(bank),
                                   negatives: negatives, negativeLogQ: nil)
        XCTAssertEqual(out.examples, users.count)
        XCTAssertEqual(out.lossSum / B, g.number("loss"), accuracy: 1e-4 * g.number("loss"))
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.users).map { $0 / B }, flatten(g.matrix("grad_users"))), 1e-4)
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.items).map { $0 / B }, flatten(g.matrix("grad_positives"))), 1e-4)
    }

    func testBankInfoNCEAccidentalHitsMatchesGolden() throws {
        let g = try GoldenFile("infonce_memory_bank_accidental_hits")
        let users = g.matrix("users"), positives = g.matrix("positives"), bank = g.matrix("bank")
        let positiveIds = g.ids("positive_ids"), negativeIds = g.ids("negative_ids")
        let B = Double(users.count), tau = g.number("temperature")
        let reference = LossReference.contrastive(users: users, positives: positives, negatives: bank,
                                                  similarity: .cosine, temperature: tau, inBatch: false,
                                                  positiveIds: positiveIds, negativeIds: negativeIds)
        XCTAssertEqual(reference.lossSum / B, g.number("loss"), accuracy: 1e-12)

        let rowCount = Int(max(positiveIds.max()!, negativeIds.max()!)) + 1
        let userIds = users.indices.map { UInt32($0) }
        let settings = LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: Float(tau),
                                    negatives: bank.count, removeAccidentalHits: true)
        let out = MinibatchGradientComputer(settings: settings, dim: users[0].count).compute(
            users: userIds, items: positiveIds, userTable: LossFixtures.table(users),
            itemTable: LossFixtures.table(positives, ids: positiveIds, rowCount: rowCount),
            bank: LossFixtures.table(bank, ids: negativeIds, rowCount: rowCount),
            negatives: negativeIds, negativeLogQ: nil)
        XCTAssertEqual(out.lossSum / B, g.number("loss"), accuracy: 1e-4 * g.number("loss"))
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.users).map { $0 / B }, flatten(g.matrix("grad_users"))), 1e-4)
        XCTAssertLessThan(maxRelativeError(LossFixtures.dense(out.items, ids: positiveIds).map { $0 / B },
                                           flatten(g.matrix("grad_positives"))), 1e-4)
        XCTAssertEqual(out.items.ids, positiveIds.sorted())
        // Without removal the loss differs: the golden really exercises the mask.
        let unmasked = MinibatchGradientComputer(settings: LossSettings(kind: .bankInfoNCE, temperature: Float(tau), removeAccidentalHits: false),
                                                 dim: users[0].count).compute(
            users: userIds, items: positiveIds, userTable: LossFixtures.table(users),
            itemTable: LossFixtures.table(positives, ids: positiveIds, rowCount: rowCount),
            bank: LossFixtures.table(bank, ids: negativeIds, rowCount: rowCount), negatives: negativeIds, negativeLogQ: nil)
        XCTAssertGreaterThan(abs(unmasked.lossSum / B - g.number("loss")), 1e-2)
    }

    func testInBatchInfoNCEMatchesGolden() throws {
        let g = try GoldenFile("infonce_inbatch_two_views")
        let view1 = g.matrix("view1"), view2 = g.matrix("view2"), tau = g.number("temperature")
        let B = Double(view1.count)
        let reference = LossReference.contrastive(users: view1, positives: view2, negatives: [], similarity: .cosine,
                                                  temperature: tau, inBatch: true)
        XCTAssertEqual(reference.lossSum / B, g.number("loss"), accuracy: 1e-12)
        XCTAssertLessThan(maxRelativeError(flatten(reference.positives).map { $0 / B }, flatten(g.matrix("grad_view2"))), 1e-5)   // the golden gradients agree to ~1e-6 only

        let ids = view1.indices.map { UInt32($0) }
        let settings = LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: Float(tau))
        let out = MinibatchGradientComputer(settings: settings, dim: view1[0].count).compute(
            users: ids, items: ids, userTable: LossFixtures.table(view1), itemTable: LossFixtures.table(view2),
            bank: EmbeddingTable(rows: 0, dim: view1[0].count), negatives: [], negativeLogQ: nil)
        XCTAssertEqual(out.lossSum / B, g.number("loss"), accuracy: 1e-4 * g.number("loss"))
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.users).map { $0 / B }, flatten(g.matrix("grad_view1"))), 1e-4)
        XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.items).map { $0 / B }, flatten(g.matrix("grad_view2"))), 1e-4)
    }

    func testMNRWithExplicitNegativesMatchesGolden() throws {
        let g = try GoldenFile("mnr_seed_example")
        let anchor = g.vector("anchor"), positive = g.vector("positive"), negatives = g.matrix("negatives")
        let reference = LossReference.contrastive(users: [anchor], positives: [positive], negatives: negatives,
                                                  similarity: .dot, temperature: 1, inBatch: false)
        XCTAssertEqual(reference.lossSum, g.number("loss"), accuracy: 1e-12)
        XCTAssertLessThan(maxRelativeError(flatten(reference.negatives), flatten(g.matrix("grad_negatives"))), 1e-5)   // the golden gradients agree to ~1e-6 only

        let f = { (x: [Double]) in x.map { Float($0) } }
        let out = mnrLossWithExplicitNegatives(anchors: f(anchor), positives: f(positive), negatives: f(flatten(negatives)),
                                               dim: anchor.count, temperature: Float(g.number("temperature")))
        XCTAssertEqual(out.lossSum, g.number("loss"), accuracy: 1e-4 * g.number("loss"))
        XCTAssertLessThan(maxRelativeError(out.anchors.map { Double($0) }, g.vector("grad_anchor")), 1e-4)
        XCTAssertLessThan(maxRelativeError(out.positives.map { Double($0) }, g.vector("grad_positive")), 1e-4)
        XCTAssertLessThan(maxRelativeError(out.negatives.map { Double($0) }, flatten(g.matrix("grad_negatives"))), 1e-4)
    }

    // MARK: BLAS kernel against the naive float64 reference on random shapes

    /// Every softmax configuration on random shapes with repeated ids and accidental hits; tolerance: loss 1e-4
    /// relative, gradients 2e-3 relative with a 1e-2·max floor (float32 against float64).
    func testKernelMatchesReferenceOnRandomShapes() {
        var random = SeededRandom(seed: 7)
        let configurations: [LossSettings] = [
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1),
            LossSettings(kind: .bankInfoNCE, similarity: .dot, temperature: 0.5, removeAccidentalHits: false),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.2, logQCorrection: true),
            LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 0.1),
            LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 0.1, removeAccidentalHits: false),
            LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 0.1, logQCorrection: true, mixInBatch: true),
            LossSettings(kind: .inBatchInfoNCE, similarity: .dot, temperature: 1, mixInBatch: true),
            LossSettings(kind: .mnr, similarity: .cosine, temperature: 1),
            // Bilateral softmax (BSL): the positive outside the sum, with its own temperature.
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1, positiveTemperature: 0.25),
            LossSettings(kind: .inBatchInfoNCE, similarity: .cosine, temperature: 0.1, mixInBatch: true,
                         positiveTemperature: 0.05),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.2, logQCorrection: true,
                         liveNegatives: true, positiveTemperature: 0.3),
            // Cosine contrastive loss; margins low enough that many negatives are active.
            LossSettings(kind: .ccl, cclMargin: 0.1, cclNegativeWeight: 5),
            LossSettings(kind: .ccl, liveNegatives: true, cclMargin: -0.2, cclNegativeWeight: 150),
            LossSettings(kind: .ccl, removeAccidentalHits: false, cclMargin: 0, cclNegativeWeight: 1),
        ]
        for (c, settings) in configurations.enumerated() {
            for trial in 0 ..< 3 {
                let B = 1 + random.nextInt(below: 64), K = random.nextInt(below: 301), d = 8 + random.nextInt(below: 63)
                let problem = LossFixtures.randomProblem(batch: B, negatives: K, dim: d, seed: UInt64(100 * c + trial))
                let logQ = (0 ..< K).map { _ in Float(-3 - 4 * random.nextUnit()) }
                checkAgainstReference(problem, settings: settings, logQ: logQ, context: "config \(c) B=\(B) K=\(K) d=\(d)")
            }
        }
    }

    private func checkAgainstReference(_ p: LossFixtures.Problem, settings: LossSettings, logQ: [Float], context: String) {
        let computer = MinibatchGradientComputer(settings: settings, dim: p.userTable.dim)
        let out = computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                   bank: p.bank, negatives: p.negatives, negativeLogQ: settings.logQCorrection ? logQ : nil)
        let useBank = settings.usesBankNegatives
        let negatives = useBank ? p.negatives : []
        let offsets = settings.logQCorrection && useBank
            ? logQ.map { Double($0) + log(Double(negatives.count)) } : nil
        let reference = settings.kind == .ccl ? LossReference.ccl(
            users: LossFixtures.rows(p.userTable, p.users), positives: LossFixtures.rows(p.itemTable, p.items),
            negatives: LossFixtures.rows(settings.liveNegatives ? p.itemTable : p.bank, negatives),
            margin: Double(settings.cclMargin), weight: Double(settings.cclNegativeWeight),
            positiveIds: settings.removeAccidentalHits ? p.items : nil,
            negativeIds: settings.removeAccidentalHits ? negatives : nil)
        : LossReference.contrastive(
            users: LossFixtures.rows(p.userTable, p.users), positives: LossFixtures.rows(p.itemTable, p.items),
            negatives: LossFixtures.rows(settings.liveNegatives ? p.itemTable : p.bank, negatives),
            similarity: settings.effectiveSimilarity,
            temperature: Double(settings.temperature), inBatch: settings.kind != .bankInfoNCE,
            positiveIds: settings.removeAccidentalHits ? p.items : nil,
            negativeIds: settings.removeAccidentalHits ? negatives : nil, negativeLogitOffset: offsets,
            positiveTemperature: settings.positiveTemperature.map(Double.init))
        XCTAssertEqual(out.lossSum, reference.lossSum, accuracy: 1e-4 * abs(reference.lossSum) + 1e-6, context)
        LossFixtures.assertGradientsMatch(out, reference, problem: p, negatives: negatives,
                                          live: settings.liveNegatives, context)
    }

    // MARK: finite differences

    /// The float64 reference's gradients against central differences (h = 1e-6), every input including negatives.
    func testReferenceGradientsMatchFiniteDifferences() {
        var random = SeededRandom(seed: 11)
        let B = 4, K = 5, d = 6
        func randomRows(_ n: Int) -> [[Double]] { (0 ..< n).map { _ in (0 ..< d).map { _ in random.nextGaussian() } } }
        let positiveIds: [UInt32] = [1, 2, 1, 3], negativeIds: [UInt32] = [2, 7, 8, 1, 9]
        let cases: [(Similarity, Bool, Double?)] = [
            (.cosine, false, nil), (.dot, false, nil), (.cosine, true, nil), (.dot, true, nil),
            (.cosine, false, 0.45), (.dot, true, 0.2),
        ]
        for (similarity, inBatch, tauPlus) in cases {
            let users = randomRows(B), positives = randomRows(B), negatives = randomRows(K)
            let offsets = (0 ..< K).map { _ in random.nextUnit() }
            func loss(_ u: [[Double]], _ p: [[Double]], _ n: [[Double]]) -> Double {
                LossReference.contrastive(users: u, positives: p, negatives: n, similarity: similarity, temperature: 0.3,
                                          inBatch: inBatch, positiveIds: positiveIds, negativeIds: negativeIds,
                                          negativeLogitOffset: offsets, positiveTemperature: tauPlus).lossSum
            }
            let r = LossReference.contrastive(users: users, positives: positives, negatives: negatives,
                                              similarity: similarity, temperature: 0.3, inBatch: inBatch,
                                              positiveIds: positiveIds, negativeIds: negativeIds,
                                              negativeLogitOffset: offsets, positiveTemperature: tauPlus)
            checkAgainstFiniteDifferences(r, inputs: (users, positives, negatives), loss: loss,
                                          context: "\(similarity) inBatch=\(inBatch) τ⁺ \(String(describing: tauPlus))")
        }
    }

    /// Each gradient of a float64 reference result against central differences (h = 1e-6) of `loss`, for every
    /// coordinate of the users, the positives and the negatives.
    private func checkAgainstFiniteDifferences(
        _ r: LossReference.Result, inputs: (users: [[Double]], positives: [[Double]], negatives: [[Double]]),
        loss: ([[Double]], [[Double]], [[Double]]) -> Double, context: String
    ) {
        let h = 1e-6
        let all = [inputs.users, inputs.positives, inputs.negatives]
        for (which, grads) in [r.users, r.positives, r.negatives].enumerated() {
            for i in all[which].indices {
                for j in all[which][i].indices {
                    var plus = all, minus = all
                    plus[which][i][j] += h
                    minus[which][i][j] -= h
                    let numeric = (loss(plus[0], plus[1], plus[2]) - loss(minus[0], minus[1], minus[2])) / (2 * h)
                    XCTAssertEqual(grads[i][j], numeric, accuracy: 1e-6 + 1e-5 * abs(numeric),
                                   "\(context) input \(which) [\(i)][\(j)]")
                }
            }
        }
    }

    /// The CCL reference's gradients against central differences, away from the kinks (|s − m| and |1 − s| large
    /// compared with h).
    func testCCLReferenceGradientsMatchFiniteDifferences() {
        var random = SeededRandom(seed: 12)
        let B = 4, K = 6, d = 5
        func randomRows(_ n: Int) -> [[Double]] { (0 ..< n).map { _ in (0 ..< d).map { _ in random.nextGaussian() } } }
        let users = randomRows(B), positives = randomRows(B), negatives = randomRows(K)
        let positiveIds: [UInt32] = [1, 2, 3, 4], negativeIds: [UInt32] = [2, 7, 8, 1, 9, 10]
        func loss(_ u: [[Double]], _ p: [[Double]], _ n: [[Double]]) -> Double {
            LossReference.ccl(users: u, positives: p, negatives: n, margin: 0.05, weight: 3,
                              positiveIds: positiveIds, negativeIds: negativeIds).lossSum
        }
        let r = LossReference.ccl(users: users, positives: positives, negatives: negatives, margin: 0.05, weight: 3,
                                  positiveIds: positiveIds, negativeIds: negativeIds)
        XCTAssertGreaterThan(r.lossSum, 0)
        XCTAssertTrue(r.negatives.contains { $0.contains { $0 != 0 } }, "some negatives are above the margin")
        checkAgainstFiniteDifferences(r, inputs: (users, positives, negatives), loss: loss, context: "CCL")
    }

    /// The float32 kernel's gradients against central differences of its own loss (h = 1e-2, tolerance 2e-2).
    func testKernelGradientsMatchFiniteDifferences() {
        for kind in [LossKind.bankInfoNCE, .inBatchInfoNCE] {
            let p = LossFixtures.randomProblem(batch: 5, negatives: 6, dim: 7, seed: 3)
            let settings = LossSettings(kind: kind, similarity: .cosine, temperature: 0.5, mixInBatch: true)
            let computer = MinibatchGradientComputer(settings: settings, dim: 7)
            func loss() -> Double {
                computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                 bank: p.bank, negatives: p.negatives, negativeLogQ: nil).lossSum
            }
            let out = computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                       bank: p.bank, negatives: p.negatives, negativeLogQ: nil)
            let h: Float = 1e-2
            for (table, grads) in [(p.userTable, out.users), (p.itemTable, out.items)] {
                for (k, id) in grads.ids.enumerated() {
                    for j in 0 ..< 7 {
                        let original = table.row(Int(id))
                        var row = Array(original)
                        row[j] = original[original.startIndex + j] + h
                        table.setRow(Int(id), row)
                        let plus = loss()
                        row[j] = original[original.startIndex + j] - h
                        table.setRow(Int(id), row)
                        let minus = loss()
                        table.setRow(Int(id), original)
                        let numeric = (plus - minus) / (2 * Double(h))
                        XCTAssertEqual(Double(grads.row(k)[k * 7 + j]), numeric, accuracy: 2e-2 * max(abs(numeric), 0.1),
                                       "\(kind) row \(id) col \(j)")
                    }
                }
            }
        }
    }
}
