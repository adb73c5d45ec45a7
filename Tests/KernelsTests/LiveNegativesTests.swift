import Kernels
import RunSettings
import XCTest

/// Sampled softmax with live negatives: the K negatives are rows of the item table and receive gradients.
/// Checked against central finite differences of a plain float64 implementation written here.
final class LiveNegativesTests: XCTestCase {
    let d = 5, userCount = 3, itemCount = 7
    let users: [UInt32] = [0, 2, 0]
    let items: [UInt32] = [1, 3, 4]
    /// Item 3 appears as a negative (an accidental hit for row 1) and item 5 twice.
    let negatives: [UInt32] = [3, 5, 6, 5]
    let tau = 0.2

    func tables() -> (EmbeddingTable, EmbeddingTable) {
        var random = SeededRandom(seed: 5)
        return (EmbeddingTable(rows: userCount, dim: d, normalStd: 1, random: &random),
                EmbeddingTable(rows: itemCount, dim: d, normalStd: 1, random: &random))
    }

    /// Σ_b cross-entropy of [cos(u_b, v_b), cos(u_b, v_{n_k}) for n_k ≠ i_b] / τ, target 0.
    func loss(_ U: [Double], _ V: [Double]) -> Double {
        func row(_ t: [Double], _ r: Int) -> [Double] { LossFixtures.row(t, r, dim: d) }
        let cosine = LossFixtures.cosine
        var total = 0.0
        for b in users.indices {
            let u = row(U, Int(users[b]))
            var logits = [cosine(u, row(V, Int(items[b]))) / tau]
            for n in negatives where n != items[b] { logits.append(cosine(u, row(V, Int(n))) / tau) }
            let m = logits.max()!
            total += m + Foundation.log(logits.map { Foundation.exp($0 - m) }.reduce(0, +)) - logits[0]
        }
        return total
    }

    func testGradientsFlowIntoNegativeRowsAndMatchFiniteDifferences() {
        let (userTable, itemTable) = tables()
        let settings = LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: Float(tau),
                                    negatives: negatives.count, removeAccidentalHits: true, liveNegatives: true)
        // A bank that is nothing like the item table: live negatives must not read it.
        let bank = EmbeddingTable(rows: itemCount, dim: d)
        let g = MinibatchGradientComputer(settings: settings, dim: d)
            .compute(users: users, items: items, userTable: userTable, itemTable: itemTable, bank: bank,
                     negatives: negatives, negativeLogQ: nil)
        let U = userTable.values.map(Double.init), V = itemTable.values.map(Double.init)
        XCTAssertEqual(g.lossSum, loss(U, V), accuracy: 1e-4 * abs(loss(U, V)))
        XCTAssertEqual(g.items.ids, [1, 3, 4, 5, 6], "positives and every distinct negative get a gradient row")
        XCTAssertEqual(g.users.ids, [0, 2])
        var Vm = V, Um = U
        for (k, id) in g.items.ids.enumerated() {
            for j in 0 ..< d {
                let expected = LossFixtures.centralDifference(&Vm, Int(id) * d + j) { loss(U, $0) }
                XCTAssertEqual(Double(g.items.values[k * d + j]), expected, accuracy: 2e-3 + 2e-3 * abs(expected),
                               "item \(id) coordinate \(j)")
            }
        }
        for (k, id) in g.users.ids.enumerated() {
            for j in 0 ..< d {
                let expected = LossFixtures.centralDifference(&Um, Int(id) * d + j) { loss($0, V) }
                XCTAssertEqual(Double(g.users.values[k * d + j]), expected, accuracy: 2e-3 + 2e-3 * abs(expected),
                               "user \(id) coordinate \(j)")
            }
        }
    }

    func testBankNegativesStayConstantWithoutTheFlag() {
        let (userTable, itemTable) = tables()
        let settings = LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: Float(tau),
                                    negatives: negatives.count, removeAccidentalHits: true)
        let g = MinibatchGradientComputer(settings: settings, dim: d)
            .compute(users: users, items: items, userTable: userTable, itemTable: itemTable, bank: itemTable.copy(),
                     negatives: negatives, negativeLogQ: nil)
        XCTAssertEqual(g.items.ids, [1, 3, 4])
    }
}
