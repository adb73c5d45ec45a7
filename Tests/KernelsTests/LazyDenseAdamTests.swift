@testable import Kernels
import TestSupport
import XCTest

/// Lazy dense Adam (`SparseOptimizer.catchUp`) against the eager reference (`EagerDenseAdam`): the same bits.
final class LazyDenseAdamTests: XCTestCase {
    private let rows = 50, dim = 13   // 13: an 8-lane block and a scalar tail in each row

    private func settings(beta1: Float = 0.9) -> OptimizerSettings {
        OptimizerSettings(kind: .denseAdam, learningRate: 0.01, beta1: beta1, beta2: 0.999, epsilon: 1e-8,
                          weightDecay: 0.02)
    }

    private func freshTable() -> EmbeddingTable {
        var random = SeededRandom(seed: 7, stream: 1)
        return EmbeddingTable(rows: rows, dim: dim, normalStd: 0.5, random: &random)
    }

    /// Step `n`'s gradient: rows 0–9 often, 10–29 now and then (gaps around 50 steps), 30–39 in bursts at steps
    /// 0–20 and 200–220 (absent for 180 steps, longer than 132), 40–44 at step 5 only, 45–49 never.
    private func gradient(step n: Int, random: inout SeededRandom) -> SparseRows {
        var ids: [UInt32] = []
        for r in 0 ..< rows {
            let p: Double
            switch r {
            case 0 ..< 10: p = 0.5
            case 10 ..< 30: p = 0.02
            case 30 ..< 40: p = (0 ... 20).contains(n) || (200 ... 220).contains(n) ? 0.7 : 0
            case 40 ..< 45: p = n == 5 ? 1 : 0
            default: p = 0
            }
            if random.nextUnit() < p { ids.append(UInt32(r)) }
        }
        return SparseRows(dim: dim, ids: ids, values: (0 ..< ids.count * dim).map { _ in Float(random.nextGaussian()) })
    }

    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    private func assertSameBits(_ lazy: EmbeddingTable, _ optimizer: SparseOptimizer, _ eager: EmbeddingTable,
                                _ reference: EagerDenseAdam, _ what: String, file: StaticString = #filePath,
                                line: UInt = #line) {
        optimizer.catchUpAll(in: lazy)
        XCTAssertTrue(optimizer.isCaughtUp, what, file: file, line: line)
        XCTAssertEqual(bits(lazy.values), bits(eager.values), "table, \(what)", file: file, line: line)
        let state = optimizer.state, expected = reference.state
        XCTAssertEqual(state.count, 3, file: file, line: line)
        for (k, name) in ["m", "v", "idle"].enumerated() {
            XCTAssertEqual(bits(state[k]), bits(expected[k]), "\(name), \(what)", file: file, line: line)
        }
    }

    /// 300 steps of seeded sparse gradients with a changing learning-rate scale, random rows read in between: after
    /// each catch-up the rows read, and after `catchUpAll` the whole table, m, v and idle counts, equal the eager
    /// reference bit for bit. With β₁ 0.9 (rest after 132 steps) and 0.5 (after 20).
    func testLazyEqualsEagerBitForBit() {
        for beta1: Float in [0.9, 0.5] {
            let s = settings(beta1: beta1)
            let lazy = freshTable(), eager = freshTable()
            let optimizer = SparseOptimizer(settings: s, rows: rows, dim: dim)
            let reference = EagerDenseAdam(settings: s, rows: rows, dim: dim)
            XCTAssertEqual(optimizer.restAfter, reference.restAfter)
            XCTAssertEqual(optimizer.restAfter, beta1 == 0.9 ? 132 : 20)
            var random = SeededRandom(seed: 42, stream: 3)
            var lagging = 0
            for n in 0 ..< 300 {
                let g = gradient(step: n, random: &random)
                let scale = Float(0.25 + 1.5 * random.nextUnit())
                XCTAssertEqual(optimizer.apply(g, to: lazy, learningRateScale: scale), g.ids, "the rows that moved now")
                let moved = reference.apply(g, to: eager, learningRateScale: scale)
                if moved.count > g.ids.count && !optimizer.isCaughtUp { lagging += 1 }
                // Rows read for the next step: any order, repeats.
                let read = (0 ..< 6).map { _ in UInt32(random.nextInt(below: rows)) }
                optimizer.catchUp(read, in: lazy)
                for r in read {
                    XCTAssertEqual(bits(Array(lazy.row(Int(r)))), bits(Array(eager.row(Int(r)))), "row \(r) read after step \(n + 1)")
                }
                if [1, 50, 137, 221, 300].contains(n + 1) {
                    assertSameBits(lazy, optimizer, eager, reference, "β₁ \(beta1) after step \(n + 1)")
                }
            }
            XCTAssertGreaterThan(lagging, 100, "β₁ \(beta1): rows were left behind and caught up later")
            XCTAssertEqual(bits(Array(lazy.row(47))), bits(Array(freshTable().row(47))), "a row never in a gradient")
        }
    }

    /// A checkpoint midway (state → a new optimizer → restore) continues bit for bit like the uninterrupted
    /// reference; the state equals the reference's [m, v, idle].
    func testRestoreMidwayContinuesBitForBit() throws {
        let s = settings()
        let eager = freshTable()
        let reference = EagerDenseAdam(settings: s, rows: rows, dim: dim)
        var lazy = freshTable()
        var optimizer = SparseOptimizer(settings: s, rows: rows, dim: dim)
        var random = SeededRandom(seed: 9, stream: 4)
        for n in 0 ..< 300 {
            let g = gradient(step: n, random: &random)
            let scale = Float(0.5 + random.nextUnit())
            optimizer.apply(g, to: lazy, learningRateScale: scale)
            reference.apply(g, to: eager, learningRateScale: scale)
            if n + 1 == 150 || n + 1 == 210 {
                let state = optimizer.state(catchingUp: lazy)
                for k in 0 ..< 3 { XCTAssertEqual(bits(state[k]), bits(reference.state[k]), "state \(k) at step \(n + 1)") }
                let restored = SparseOptimizer(settings: s, rows: rows, dim: dim)
                try restored.restore(state: state, stepCount: optimizer.stepCount)
                XCTAssertTrue(restored.isCaughtUp)
                optimizer = restored
                lazy = lazy.copy()
            }
            optimizer.catchUp([UInt32(random.nextInt(below: rows))], in: lazy)
        }
        XCTAssertEqual(optimizer.stepCount, 300)
        assertSameBits(lazy, optimizer, eager, reference, "after two restores")
    }

    /// A row absent after a gradient lags until read; reading it twice or reading a resting row changes nothing.
    func testCatchUpMovesOnlyLaggingRowsOnce() {
        let optimizer = SparseOptimizer(settings: settings(beta1: 0.5), rows: 3, dim: dim)
        let table = EmbeddingTable(rows: 3, dim: dim, values: (0 ..< 3 * dim).map { Float($0) / 10 })
        optimizer.apply(SparseRows(dim: dim, ids: [1], values: [Float](repeating: 1, count: dim)), to: table)
        let afterGradient = table.values
        for _ in 0 ..< 5 { optimizer.apply(SparseRows(dim: dim), to: table) }
        XCTAssertEqual(table.values, afterGradient, "apply touches only the gradient's rows")
        XCTAssertFalse(optimizer.isCaughtUp)
        optimizer.catchUp([0, 2], in: table)
        XCTAssertEqual(table.values, afterGradient, "rows never in a gradient rest")
        optimizer.catchUp([1, 1], in: table)
        let caughtUp = table.values
        XCTAssertNotEqual(Array(table.row(1)), Array(afterGradient[dim ..< 2 * dim]), "row 1 took its 5 steps")
        XCTAssertTrue(optimizer.isCaughtUp)
        optimizer.catchUp([1], in: table)
        XCTAssertEqual(table.values, caughtUp, "already current")
        for _ in 0 ..< 30 { optimizer.apply(SparseRows(dim: dim), to: table) }
        optimizer.catchUpAll(in: table)
        let rested = table.values
        for _ in 0 ..< 10 { optimizer.apply(SparseRows(dim: dim), to: table) }
        optimizer.catchUpAll(in: table)
        XCTAssertEqual(table.values, rested, "at rest after 20 absent steps")
        XCTAssertEqual(optimizer.state[2], [20, 20, 20])
    }

    /// The other optimizers have nothing to catch up.
    func testCatchUpIsANoOpForTheOtherOptimizers() {
        for kind in [OptimizerKind.adam, .adagrad, .sgd] {
            let optimizer = SparseOptimizer(settings: OptimizerSettings(kind: kind, learningRate: 0.1), rows: 3, dim: 2)
            let table = EmbeddingTable(rows: 3, dim: 2, values: [1, 2, 3, 4, 5, 6])
            optimizer.apply(SparseRows(dim: 2, ids: [0], values: [1, 1]), to: table)
            let after = table.values
            optimizer.apply(SparseRows(dim: 2), to: table)
            optimizer.catchUp([0, 1, 2], in: table)
            optimizer.catchUpAll(in: table)
            XCTAssertEqual(table.values, after, "\(kind)")
            XCTAssertTrue(optimizer.isCaughtUp)
            XCTAssertEqual(optimizer.state(catchingUp: table), optimizer.state)
        }
    }

    /// The resting steps' two forms (the AVX2 kernel, the portable `adamRow` with a zero gradient) give the same bits,
    /// for every tail length, for many steps with different factors, and write nothing past the row.
    func testRestingStepsKernelEqualsPortableRow() {
        #if arch(x86_64)
        // Every x86-64 machine this project runs on has AVX2; a change that loses the fast path shows here.
        XCTAssertTrue(restingStepsUseAVX2, "no AVX2 resting-steps kernel on this CPU")
        #endif
        guard restingStepsUseAVX2 else { return }
        var random = SeededRandom(seed: 11, stream: 3)
        for d in [1, 7, 8, 9, 13, 16, 64, 67] {
            // θ, m, v of one row and a sentinel after each; m of both signs and zeros, v ≥ 0 with zeros.
            let theta = (0 ..< d).map { _ in Float(random.nextGaussian()) * 0.3 } + [42]
            let m = (0 ..< d).map { j in j % 5 == 4 ? (j % 2 == 0 ? 0 : -0.0) : Float(random.nextGaussian()) * 1e-3 } + [42]
            let v = (0 ..< d).map { j in j % 7 == 6 ? 0 : Float(random.nextUnit()) * 1e-5 } + [42]
            let steps = (0 ..< 140).map { _ in Float(random.nextUnit()) * 1e-2 }
            let zero = [Float](repeating: 0, count: d)
            var results: [[UInt32]] = []
            for portable in [true, false] {
                var (t, mm, vv) = (theta, m, v)
                t.withUnsafeMutableBufferPointer { t in
                    mm.withUnsafeMutableBufferPointer { mm in
                        vv.withUnsafeMutableBufferPointer { vv in
                            steps.withUnsafeBufferPointer { steps in
                                zero.withUnsafeBufferPointer { zero in
                                    adamRestingSteps(t.baseAddress!, mm.baseAddress!, vv.baseAddress!, count: d,
                                                     steps: steps, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
                                                     zero: zero.baseAddress!, portable: portable)
                                }
                            }
                        }
                    }
                }
                XCTAssertEqual([t[d], mm[d], vv[d]], [42, 42, 42], "d \(d): written past the row")
                XCTAssertNotEqual(bits(t), bits(theta), "d \(d): the steps moved nothing")
                results.append(bits(t) + bits(mm) + bits(vv))
            }
            XCTAssertEqual(results[0], results[1], "d \(d): the AVX2 kernel and the portable row disagree")
        }
    }

    /// Steps and catch-ups of more rows than `RowLanes` keeps on one thread (so, on a machine with several cores,
    /// spread over them) equal the eager reference bit for bit: the gradient's rows in `apply`, the ascending rows of
    /// `catchUp(ascending:)`, and every row in `catchUpAll`.
    func testRowsSpreadOverTheCoresEqualEagerBitForBit() {
        let many = 3000, d = 9   // 9: an 8-lane block and a tail
        let s = settings()
        var random = SeededRandom(seed: 5, stream: 9)
        let lazy = EmbeddingTable(rows: many, dim: d, normalStd: 0.5, random: &random)
        let eager = EmbeddingTable(rows: many, dim: d, values: lazy.values)
        let optimizer = SparseOptimizer(settings: s, rows: many, dim: d)
        let reference = EagerDenseAdam(settings: s, rows: many, dim: d)
        for n in 0 ..< 40 {
            // About 1,800 distinct rows a step, in ascending order as the averager gives them.
            let ids = (0 ..< many).filter { _ in random.nextUnit() < 0.6 }.map { UInt32($0) }
            XCTAssertGreaterThanOrEqual(ids.count, 1024, "enough rows to be spread")
            let g = SparseRows(dim: d, ids: ids, values: (0 ..< ids.count * d).map { _ in Float(random.nextGaussian()) })
            optimizer.apply(g, to: lazy, learningRateScale: 1 - Float(n) / 80)
            reference.apply(g, to: eager, learningRateScale: 1 - Float(n) / 80)
            let read = (0 ..< many).filter { _ in random.nextUnit() < 0.5 }.map { UInt32($0) }
            optimizer.catchUp(ascending: read, in: lazy)
            for r in read.prefix(200) {
                XCTAssertEqual(bits(Array(lazy.row(Int(r)))), bits(Array(eager.row(Int(r)))), "row \(r) read after step \(n + 1)")
            }
        }
        optimizer.catchUpAll(in: lazy)
        XCTAssertEqual(bits(lazy.values), bits(eager.values), "the whole table after 40 steps")
        XCTAssertEqual(optimizer.state.map(bits), reference.state.map(bits), "m, v and idle counts")
    }
}
