import Kernels
import RunSettings
import XCTest

/// Bank negatives with gradients into the live item rows: the K negatives are read from the bank (the rows a STEP
/// carries) and their gradients are named by their item ids. Checked against central finite differences of a plain
/// float64 implementation written here, and against live negatives when the bank holds the item rows.
final class TrainedBankNegativesTests: XCTestCase {
    let d = 5, userCount = 3, itemCount = 7
    let users: [UInt32] = [0, 2, 0]
    let items: [UInt32] = [1, 3, 4]
    /// Item 3 is a negative and row 1's positive (an accidental hit there, a gradient into item 3 from both
    /// sides elsewhere); item 5 is drawn twice.
    let negatives: [UInt32] = [3, 5, 6, 5]
    let tau = 0.2, tauPlus = 0.25

    func tables() -> (users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) {
        var random = SeededRandom(seed: 11)
        return (EmbeddingTable(rows: userCount, dim: d, normalStd: 1, random: &random),
                EmbeddingTable(rows: itemCount, dim: d, normalStd: 1, random: &random),
                EmbeddingTable(rows: itemCount, dim: d, normalStd: 1, random: &random))
    }

    func settings(trained: Bool = true, live: Bool = false) -> LossSettings {
        LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: Float(tau), negatives: negatives.count,
                     removeAccidentalHits: true, liveNegatives: live, positiveTemperature: Float(tauPlus),
                     trainedBankNegatives: trained)
    }

    /// Σ_b −cos(u_b, v_b)/τ⁺ + log Σ_{n_k ≠ i_b} exp(cos(u_b, N_{n_k})/τ): positives from V, negatives from N.
    func loss(_ U: [Double], _ V: [Double], _ N: [Double]) -> Double {
        func row(_ t: [Double], _ r: Int) -> [Double] { LossFixtures.row(t, r, dim: d) }
        let cosine = LossFixtures.cosine
        var total = 0.0
        for b in users.indices {
            let u = row(U, Int(users[b]))
            var logits: [Double] = []
            for n in negatives where n != items[b] { logits.append(cosine(u, row(N, Int(n))) / tau) }
            let m = logits.max()!
            total += -cosine(u, row(V, Int(items[b]))) / tauPlus
                + m + Foundation.log(logits.map { Foundation.exp($0 - m) }.reduce(0, +))
        }
        return total
    }

    /// An item row's gradient is the derivative through its positive uses (item table) plus that through its
    /// negative uses (bank rows as read).
    func testGradientsOfBankRowsGoToTheItemIdsAndMatchFiniteDifferences() {
        let (userTable, itemTable, bank) = tables()
        let g = MinibatchGradientComputer(settings: settings(), dim: d)
            .compute(users: users, items: items, userTable: userTable, itemTable: itemTable, bank: bank,
                     negatives: negatives, negativeLogQ: nil)
        var U = userTable.values.map(Double.init), V = itemTable.values.map(Double.init)
        var N = bank.values.map(Double.init)
        let expectedLoss = loss(U, V, N)
        XCTAssertEqual(g.lossSum, expectedLoss, accuracy: 1e-4 * abs(expectedLoss))
        XCTAssertEqual(g.items.ids, [1, 3, 4, 5, 6], "positives and every distinct negative get an item gradient row")
        XCTAssertEqual(g.users.ids, [0, 2])
        for (k, id) in g.items.ids.enumerated() {
            for j in 0 ..< d {
                let index = Int(id) * d + j
                let expected = LossFixtures.centralDifference(&V, index) { loss(U, $0, N) }
                    + LossFixtures.centralDifference(&N, index) { loss(U, V, $0) }
                XCTAssertEqual(Double(g.items.values[k * d + j]), expected, accuracy: 2e-3 + 2e-3 * abs(expected),
                               "item \(id) coordinate \(j)")
            }
        }
        for (k, id) in g.users.ids.enumerated() {
            for j in 0 ..< d {
                let expected = LossFixtures.centralDifference(&U, Int(id) * d + j) { loss($0, V, N) }
                XCTAssertEqual(Double(g.users.values[k * d + j]), expected, accuracy: 2e-3 + 2e-3 * abs(expected),
                               "user \(id) coordinate \(j)")
            }
        }
    }

    /// A bank that holds the item rows themselves makes the loss and every gradient bit those of live negatives.
    func testABankEqualToTheItemTableGivesTheLiveNegativesBitForBit() {
        let (userTable, itemTable, _) = tables()
        let trained = MinibatchGradientComputer(settings: settings(), dim: d)
            .compute(users: users, items: items, userTable: userTable, itemTable: itemTable, bank: itemTable.copy(),
                     negatives: negatives, negativeLogQ: nil)
        let live = MinibatchGradientComputer(settings: settings(trained: false, live: true), dim: d)
            .compute(users: users, items: items, userTable: userTable, itemTable: itemTable,
                     bank: EmbeddingTable(rows: itemCount, dim: d), negatives: negatives, negativeLogQ: nil)
        XCTAssertEqual(trained.lossSum, live.lossSum)
        XCTAssertEqual(trained.users, live.users)
        XCTAssertEqual(trained.items, live.items)
    }

    /// The rule that decides who trains the negatives, and the combinations a run refuses.
    func testOnlyLossesWithBankNegativesTrainThem() {
        XCTAssertTrue(settings().trainsNegatives)
        XCTAssertFalse(settings(trained: false).trainsNegatives)
        XCTAssertTrue(settings(trained: false, live: true).trainsNegatives)
        var inBatch = settings()
        inBatch.kind = .inBatchInfoNCE
        XCTAssertFalse(inBatch.trainsNegatives, "pure in-batch draws no negatives")
        inBatch.mixInBatch = true
        XCTAssertTrue(inBatch.trainsNegatives)
    }
}
