import Foundation
import Kernels
import XCTest

final class SparseOptimizerTests: XCTestCase {
    private func table() -> EmbeddingTable {
        EmbeddingTable(rows: 3, dim: 2, values: [1, -2, 0.5, 0.25, 3, 4])
    }

    /// Adam on row 1 for two steps, by hand in double precision (torch SparseAdam form, global t).
    func testAdamTwoStepsByHand() {
        let s = OptimizerSettings(kind: .adam, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        let opt = SparseOptimizer(settings: s, rows: 3, dim: 2)
        let t = table()
        let grads: [[Double]] = [[0.5, -1], [2, 0.1]]
        var theta: [Double] = [0.5, 0.25], m: [Double] = [0, 0], v: [Double] = [0, 0]
        for (step, g) in grads.enumerated() {
            opt.apply(SparseRows(dim: 2, ids: [1], values: g.map { Float($0) }), to: t)
            let n = Double(step + 1)
            let stepSize = 0.1 * (1 - pow(0.999, n)).squareRoot() / (1 - pow(0.9, n))
            for j in 0 ..< 2 {
                let gj = g[j] + 0.01 * theta[j]
                m[j] = 0.9 * m[j] + 0.1 * gj
                v[j] = 0.999 * v[j] + 0.001 * gj * gj
                theta[j] -= stepSize * m[j] / (v[j].squareRoot() + 1e-8)
            }
            XCTAssertEqual(Double(t.row(1)[0]), theta[0], accuracy: 1e-6)
            XCTAssertEqual(Double(t.row(1)[1]), theta[1], accuracy: 1e-6)
        }
        XCTAssertEqual(opt.stepCount, 2)
        XCTAssertEqual(Array(t.row(0)), [1, -2], "untouched rows do not move")
        XCTAssertEqual(Array(t.row(2)), [3, 4], "untouched rows do not move")
    }

    /// A row first touched at global step 2 is bias-corrected with t = 2 (lazy, like torch SparseAdam).
    func testAdamUsesGlobalStepCount() {
        let opt = SparseOptimizer(settings: OptimizerSettings(learningRate: 0.1), rows: 3, dim: 2)
        let t = table()
        opt.apply(SparseRows(dim: 2, ids: [0], values: [1, 1]), to: t)
        opt.apply(SparseRows(dim: 2, ids: [2], values: [1, -1]), to: t)
        let stepSize = 0.1 * (1 - pow(0.999, 2.0)).squareRoot() / (1 - pow(0.9, 2.0))
        let update = stepSize * 0.1 / ((0.001 as Double).squareRoot() + 1e-8)
        XCTAssertEqual(Double(t.row(2)[0]), 3 - update, accuracy: 1e-6)
        XCTAssertEqual(Double(t.row(2)[1]), 4 + update, accuracy: 1e-6)
    }

    func testSGDByHand() {
        let opt = SparseOptimizer(settings: OptimizerSettings(kind: .sgd, learningRate: 0.5, weightDecay: 0.1), rows: 3, dim: 2)
        let t = table()
        opt.apply(SparseRows(dim: 2, ids: [0, 2], values: [1, 2, -1, 0]), to: t)
        XCTAssertEqual(Array(t.row(0)), [1 - 0.5 * (1 + 0.1), -2 - 0.5 * (2 - 0.2)])
        XCTAssertEqual(Array(t.row(1)), [0.5, 0.25])
        XCTAssertEqual(t.row(2)[0], 3 - 0.5 * (-1 + 0.3), accuracy: 1e-6)
        XCTAssertEqual(t.row(2)[1], 4 - 0.5 * 0.4, accuracy: 1e-6)
        XCTAssertTrue(opt.state.isEmpty)
    }

    /// Row-wise Adagrad: one accumulator per row, the mean of the squared gradient.
    func testAdagradTwoStepsByHand() {
        let opt = SparseOptimizer(settings: OptimizerSettings(kind: .adagrad, learningRate: 0.1, epsilon: 1e-10), rows: 3, dim: 2)
        let t = table()
        var theta: [Double] = [1, -2], acc = 0.0
        for g in [[3.0, 4.0], [1.0, -1.0]] {
            opt.apply(SparseRows(dim: 2, ids: [0], values: g.map { Float($0) }), to: t)
            acc += (g[0] * g[0] + g[1] * g[1]) / 2
            for j in 0 ..< 2 { theta[j] -= 0.1 * g[j] / (acc.squareRoot() + 1e-10) }
        }
        XCTAssertEqual(Double(t.row(0)[0]), theta[0], accuracy: 1e-6)
        XCTAssertEqual(Double(t.row(0)[1]), theta[1], accuracy: 1e-6)
        XCTAssertEqual(opt.state.map(\.count), [3])
        XCTAssertEqual(Double(opt.state[0][0]), acc, accuracy: 1e-5)
        XCTAssertEqual(opt.state[0][1], 0)
        XCTAssertEqual(Array(t.row(1)), [0.5, 0.25])
    }

    /// Dense Adam by hand (torch Adam on a dense table): row 1 takes a gradient at step 1 and keeps moving at
    /// step 2 with gradient zero (no weight decay), once caught up; row 0 starts at step 2, row 2 never moves.
    func testDenseAdamByHand() {
        let s = OptimizerSettings(kind: .denseAdam, learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
                                  weightDecay: 0.01)
        let opt = SparseOptimizer(settings: s, rows: 3, dim: 2)
        let t = table()
        var theta: [[Double]] = [[1, -2], [0.5, 0.25], [3, 4]]
        var m = [[Double]](repeating: [0, 0], count: 3), v = m
        let steps: [(id: Int, g: [Double])] = [(1, [0.5, -1]), (0, [2, 0.1])]
        var moved: [[UInt32]] = []
        for (n, (id, g)) in steps.enumerated() {
            moved.append(opt.apply(SparseRows(dim: 2, ids: [UInt32(id)], values: g.map { Float($0) }), to: t))
            opt.catchUpAll(in: t)
            let t1 = Double(n + 1)
            let stepSize = 0.1 * (1 - pow(0.999, t1)).squareRoot() / (1 - pow(0.9, t1))
            for r in 0 ... 1 where r == id || m[r] != [0, 0] {
                for j in 0 ..< 2 {
                    let gj = r == id ? g[j] + 0.01 * theta[r][j] : 0
                    m[r][j] = 0.9 * m[r][j] + 0.1 * gj
                    v[r][j] = 0.999 * v[r][j] + 0.001 * gj * gj
                    theta[r][j] -= stepSize * m[r][j] / (v[r][j].squareRoot() + 1e-8)
                }
            }
            for r in 0 ..< 3 {
                for j in 0 ..< 2 { XCTAssertEqual(Double(t.row(r)[j]), theta[r][j], accuracy: 1e-6, "step \(n) row \(r)") }
            }
        }
        XCTAssertEqual(moved, [[1], [0]], "the gradient's rows are reported for the delta (row 1 moved when caught up)")
        XCTAssertEqual(Array(t.row(2)), [3, 4], "a row never in a gradient does not move")
        XCTAssertEqual(opt.state.map(\.count), [6, 6, 3])
    }

    /// An absent row keeps moving for `restAfter` steps (taken when it is caught up), then rests until it is in a
    /// gradient again; `apply` reports only the gradient's rows, like lazy Adam.
    func testDenseAdamRowsComeToRest() {
        XCTAssertEqual(SparseOptimizer(settings: OptimizerSettings(kind: .denseAdam), rows: 1, dim: 1).restAfter, 132,
                       "(0.9/√0.999)^k ≤ 1e-6")
        let opt = SparseOptimizer(settings: OptimizerSettings(kind: .denseAdam, learningRate: 0.1, beta1: 0.5),
                                  rows: 3, dim: 2)
        XCTAssertEqual(opt.restAfter, 20)
        let t = table()
        XCTAssertEqual(opt.apply(SparseRows(dim: 2, ids: [2], values: [1, -1]), to: t), [2])
        let empty = SparseRows(dim: 2, ids: [], values: [])
        for k in 1 ... 20 {
            let before = Array(t.row(2))
            XCTAssertEqual(opt.apply(empty, to: t), [], "absent step \(k)")
            XCTAssertEqual(Array(t.row(2)), before, "not moved by apply at absent step \(k)")
            opt.catchUp([2], in: t)
            XCTAssertNotEqual(Array(t.row(2)), before, "still moving at absent step \(k)")
        }
        let rested = Array(t.row(2))
        for _ in 0 ..< 5 { XCTAssertEqual(opt.apply(empty, to: t), []); opt.catchUpAll(in: t) }
        XCTAssertEqual(Array(t.row(2)), rested)
        XCTAssertEqual(opt.apply(SparseRows(dim: 2, ids: [0], values: [1, 1]), to: t), [0])
        XCTAssertEqual(opt.apply(SparseRows(dim: 2, ids: [2], values: [1, 1]), to: t), [2])
        XCTAssertFalse(opt.isCaughtUp, "row 0 is still moving on its momentum")
        let lazy = SparseOptimizer(settings: OptimizerSettings(kind: .adam), rows: 3, dim: 2)
        XCTAssertEqual(lazy.apply(SparseRows(dim: 2, ids: [2], values: [1, -1]), to: table()), [2])
        XCTAssertEqual(lazy.apply(empty, to: table()), [])
    }

    func testDenseAdamRestoreRejectsBadIdleCounts() {
        let opt = SparseOptimizer(settings: OptimizerSettings(kind: .denseAdam), rows: 3, dim: 2)
        let zeros = [Float](repeating: 0, count: 6)
        XCTAssertThrowsError(try opt.restore(state: [zeros, zeros], stepCount: 1), "the idle counts are missing")
        XCTAssertThrowsError(try opt.restore(state: [zeros, zeros, [0, 133, 1]], stepCount: 1))
        XCTAssertThrowsError(try opt.restore(state: [zeros, zeros, [0, 0.5, 1]], stepCount: 1))
        XCTAssertThrowsError(try opt.restore(state: [zeros, zeros, [0, -1, 1]], stepCount: 1))
        XCTAssertNoThrow(try opt.restore(state: [zeros, zeros, [0, 132, 1]], stepCount: 1))
    }

    /// A restored optimizer continues exactly where the original was.
    func testStateRestoreRoundTrips() throws {
        for kind in OptimizerKind.allCases {
            let settings = OptimizerSettings(kind: kind, learningRate: 0.05)
            let original = SparseOptimizer(settings: settings, rows: 3, dim: 2)
            let a = table()
            original.apply(SparseRows(dim: 2, ids: [0, 1], values: [1, 2, 3, 4]), to: a)
            original.apply(SparseRows(dim: 2, ids: [1], values: [-1, 0.5]), to: a)
            let restored = SparseOptimizer(settings: settings, rows: 3, dim: 2)
            try restored.restore(state: original.state(catchingUp: a), stepCount: original.stepCount)
            XCTAssertEqual(restored.stepCount, 2)
            let b = a.copy()
            let next = SparseRows(dim: 2, ids: [1, 2], values: [0.3, -0.2, 1, 1])
            original.apply(next, to: a)
            restored.apply(next, to: b)
            XCTAssertEqual(a.values, b.values, "\(kind)")
            XCTAssertEqual(original.state(catchingUp: a), restored.state(catchingUp: b), "\(kind)")
            XCTAssertEqual(a.values, b.values, "\(kind), caught up")
            // A fresh optimizer (no state) would have moved differently, except plain SGD.
            if kind != .sgd {
                let fresh = SparseOptimizer(settings: settings, rows: 3, dim: 2)
                let c = b.copy()
                restored.apply(next, to: b)
                fresh.apply(next, to: c)
                XCTAssertNotEqual(c.values, b.values, "\(kind): the restored state matters")
            }
        }
    }

    func testRestoreRejectsMismatchedState() {
        let opt = SparseOptimizer(settings: OptimizerSettings(kind: .adam), rows: 3, dim: 2)
        XCTAssertThrowsError(try opt.restore(state: [[0, 0]], stepCount: 1))
        XCTAssertThrowsError(try opt.restore(state: [[Float](repeating: 0, count: 6), [Float](repeating: 0, count: 6)], stepCount: -1))
        XCTAssertNoThrow(try opt.restore(state: [[Float](repeating: 0, count: 6), [Float](repeating: 0, count: 6)], stepCount: 4))
        XCTAssertEqual(opt.stepCount, 4)
    }
}
