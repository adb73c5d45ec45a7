import Coordinator
import Kernels
import MemoryBank
import Replication
import Wire
import XCTest

final class TrainingStateTests: XCTestCase {
    private let dim = 3

    private func makeState(optimizer: OptimizerSettings = OptimizerSettings(kind: .sgd, learningRate: 0.5),
                           momentum: Float = 0.75) -> TrainingState {
        TrainingState(userCount: 6, itemCount: 5, dim: dim, initStd: 0.3, seed: 12, momentum: momentum,
                      optimizer: optimizer)
    }

    private func rows(_ ids: [UInt32], seed: UInt64) -> SparseRows {
        var random = SeededRandom(seed: seed)
        return SparseRows(dim: dim, ids: ids, values: (0 ..< ids.count * dim).map { _ in Float(random.nextGaussian()) })
    }

    /// Two minibatches: users 1, 3 (3 twice) and items 0, 2, 4 (4 only as a negative, not a positive).
    private func contributions() -> [MinibatchContribution] {
        [MinibatchContribution(examples: 2, lossSum: 1.5, users: rows([1, 3], seed: 1), items: rows([0, 4], seed: 2),
                               positives: [0, 0]),
         MinibatchContribution(examples: 1, lossSum: 0.5, users: rows([3], seed: 3), items: rows([2], seed: 4),
                               positives: [2])]
    }

    private func normalized(_ v: [Double]) -> [Double] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    /// SGD moves exactly the touched rows, by lr × (sum of the rows' gradients in order / examples).
    func testOnlyTouchedRowsMoveBySGD() {
        let state = makeState()
        let before = (users: state.users.values, items: state.items.values)
        let c = contributions()
        _ = state.apply(c)
        let examples: Float = 3
        // user 1: first minibatch only; user 3: first then second; item 0, 4: first; item 2: second.
        let userGradients: [Int: [Float]] = [
            1: Array(c[0].users.row(0)),
            3: zip(Array(c[0].users.row(1)), c[1].users.values).map { $0 + $1 },
        ]
        let itemGradients: [Int: [Float]] = [0: Array(c[0].items.row(0)), 4: Array(c[0].items.row(1)),
                                             2: Array(c[1].items.row(0))]
        for (table, old, gradients, rowCount) in [(state.users, before.users, userGradients, 6),
                                                  (state.items, before.items, itemGradients, 5)] {
            for r in 0 ..< rowCount {
                let oldRow = Array(old[r * dim ..< (r + 1) * dim])
                if let g = gradients[r] {
                    let expected = (0 ..< dim).map { oldRow[$0] - 0.5 * (g[$0] * (1 / examples)) }
                    XCTAssertEqual(Array(table.row(r)), expected, "row \(r) moves by the averaged gradient")
                } else {
                    XCTAssertEqual(Array(table.row(r)), oldRow, "row \(r) was not touched")
                }
            }
        }
    }

    /// Bank rows of the positives (0 and 2) follow bank ← normalize(m·bank + (1−m)·normalize(V)); the others,
    /// item 4 (touched as a negative) included, stay.
    func testBankRowsOfPositivesMoveByMomentum() {
        let m: Float = 0.75
        let state = makeState(momentum: m)
        let bankBefore = state.bank.table.values
        let delta = state.apply(contributions())
        for r in 0 ..< 5 {
            let old = Array(bankBefore[r * dim ..< (r + 1) * dim])
            let now = Array(state.bank.table.row(r))
            if r == 0 || r == 2 {
                let v = normalized(state.items.row(r).map(Double.init))
                let expected = normalized((0 ..< dim).map { Double(m) * Double(old[$0]) + Double(1 - m) * v[$0] })
                for j in 0 ..< dim { XCTAssertEqual(Double(now[j]), expected[j], accuracy: 1e-6, "bank row \(r)") }
                XCTAssertNotEqual(now, old)
            } else {
                XCTAssertEqual(now, old, "bank row \(r) is not a positive")
            }
        }
        XCTAssertEqual(delta.bank.ids, [0, 2])
        XCTAssertEqual(delta.bank.values, Array(state.bank.table.values[0 ..< 3]) + Array(state.bank.table.values[6 ..< 9]))
    }

    /// With trained bank negatives the bank follows the negatives' item rows too: item 4, a negative of the first
    /// minibatch, moves like the positives; item 1 and 3, untouched, stay.
    func testBankRowsOfTrainedNegativesMoveWithThePositives() {
        let state = makeState(momentum: 0.75)
        let bankBefore = state.bank.table.values
        var c = contributions()
        c[0].trainedBankNegatives = [4]
        let delta = state.apply(c)
        XCTAssertEqual(delta.bank.ids, [0, 2, 4])
        let v = normalized(state.items.row(4).map(Double.init))
        let old = Array(bankBefore[12 ..< 15])
        let expected = normalized((0 ..< dim).map { 0.75 * Double(old[$0]) + 0.25 * v[$0] })
        for j in 0 ..< dim { XCTAssertEqual(Double(state.bank.table.row(4)[j]), expected[j], accuracy: 1e-6) }
        for r in [1, 3] { XCTAssertEqual(Array(state.bank.table.row(r)), Array(bankBefore[r * dim ..< (r + 1) * dim])) }
    }

    /// A trained bank negative is read as the bank's direction at its item row's length.
    func testBankRowsAtLiveLengthHaveTheBanksDirectionAndTheItemsLength() {
        let state = makeState()
        _ = state.apply(contributions())   // the bank and the items now differ
        let rows = state.bankRowsAtLiveLength([4, 0, 2])
        XCTAssertEqual(rows.ids, [4, 0, 2])
        for (k, id) in rows.ids.enumerated() {
            let read = rows.row(k).map(Double.init), bank = state.bank.table.row(Int(id)).map(Double.init)
            let item = state.items.row(Int(id)).map(Double.init)
            let length = { (v: [Double]) in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            XCTAssertEqual(length(read), length(item), accuracy: 1e-5 * length(item), "row \(id) has its item's length")
            for j in 0 ..< dim { XCTAssertEqual(read[j] / length(read), bank[j] / length(bank), accuracy: 1e-6) }
        }
    }

    /// The version advances by one per step, and the delta names the new values of every changed row.
    func testVersionAndDelta() {
        let state = makeState()
        XCTAssertEqual(state.version, 0)
        let first = state.apply(contributions())
        XCTAssertEqual(state.version, 1)
        XCTAssertEqual(state.bank.version, 1)
        XCTAssertEqual([first.baseVersion, first.version], [0, 1])
        XCTAssertEqual(first.users.ids, [1, 3])
        XCTAssertEqual(first.items.ids, [0, 2, 4])
        XCTAssertEqual(first.users, state.users.rows([1, 3]))
        XCTAssertEqual(first.items, state.items.rows([0, 2, 4]))
        let second = state.apply(contributions())
        XCTAssertEqual([second.baseVersion, second.version], [1, 2])
        XCTAssertEqual(state.version, 2)
    }

    /// The same contributions applied to two states built from the same seed give bit-identical states.
    func testApplyIsDeterministic() {
        let a = makeState(optimizer: OptimizerSettings()), b = makeState(optimizer: OptimizerSettings())
        XCTAssertEqual(a.contentHash(), b.contentHash())
        for _ in 0 ..< 3 { _ = a.apply(contributions()); _ = b.apply(contributions()) }
        XCTAssertEqual(a.contentHash(), b.contentHash())
    }
}
