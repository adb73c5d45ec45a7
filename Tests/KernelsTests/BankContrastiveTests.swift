import Foundation
@testable import Kernels
import RunSettings
import TestSupport
import XCTest

/// The row-blocked bank InfoNCE kernel against the float64 reference, for every block size, and its exp.
final class BankContrastiveTests: XCTestCase {
    /// Block sizes and thread counts every check runs the kernel with.
    let blockings = [(1, 1), (3, 1), (8, 1), (1000, 1), (8, 3), (1000, 2)]

    /// The float64 reference of `settings` on problem `p`, its negatives read from `negatives`.
    func reference(_ settings: LossSettings, _ p: LossFixtures.Problem, negatives: EmbeddingTable, logQ: [Float])
        -> LossReference.Result
    {
        LossReference.contrastive(
            users: LossFixtures.rows(p.userTable, p.users), positives: LossFixtures.rows(p.itemTable, p.items),
            negatives: LossFixtures.rows(negatives, p.negatives), similarity: settings.similarity,
            temperature: Double(settings.temperature), inBatch: false,
            positiveIds: settings.removeAccidentalHits ? p.items : nil,
            negativeIds: settings.removeAccidentalHits ? p.negatives : nil,
            negativeLogitOffset: settings.logQCorrection ? logQ.map { Double($0) + log(Double(p.negatives.count)) } : nil,
            positiveTemperature: settings.positiveTemperature.map(Double.init))
    }

    /// The kernel's gradient of problem `p` in blocks of `blockRows` rows on `threads` threads.
    func compute(_ settings: LossSettings, _ p: LossFixtures.Problem, logQ: [Float], blockRows: Int, threads: Int)
        -> MinibatchGradient
    {
        let computer = MinibatchGradientComputer(settings: settings, dim: p.userTable.dim)
        computer.bankBlockRows = blockRows
        computer.kernelThreads = threads
        return computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                bank: p.bank, negatives: p.negatives, negativeLogQ: settings.logQCorrection ? logQ : nil)
    }

    /// Blocks of 1, 3, 8 rows and one block of everything, on one thread or several, give the reference's loss and gradients, with accidental
    /// hits, logQ offsets, K = 0 and row lengths that are not a multiple of the vector width. τ = 0.02 makes some
    /// rows shift by the bound 1/τ and others by their maximum.
    func testEveryBlockSizeMatchesReference() {
        let configurations: [LossSettings] = [
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.02),
            LossSettings(kind: .bankInfoNCE, similarity: .dot, temperature: 0.5, removeAccidentalHits: false),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.2, logQCorrection: true),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.02, positiveTemperature: 0.1),
            LossSettings(kind: .bankInfoNCE, similarity: .dot, temperature: 0.5, logQCorrection: true,
                         positiveTemperature: 0.4),
        ]
        var random = SeededRandom(seed: 99)
        let blasThreads = BLAS.threads   // several kernel threads need OpenBLAS single-threaded
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        for (c, settings) in configurations.enumerated() {
            for K in [0, 1, 7, 37, 300] {
                let B = 1 + random.nextInt(below: 40), d = 3 + random.nextInt(below: 40)
                let p = LossFixtures.randomProblem(batch: B, negatives: K, dim: d, seed: UInt64(1000 * c + K))
                let logQ = (0 ..< K).map { _ in Float(-3 - 4 * random.nextUnit()) }
                let reference = reference(settings, p, negatives: p.bank, logQ: logQ)
                let users = LossFixtures.sumById(ids: p.users, rows: reference.users)
                let items = LossFixtures.sumById(ids: p.items, rows: reference.positives)
                for (rows, threads) in blockings {
                    let context = "config \(c) B=\(B) K=\(K) d=\(d) block rows \(rows) threads \(threads)"
                    let out = compute(settings, p, logQ: logQ, blockRows: rows, threads: threads)
                    XCTAssertEqual(out.lossSum, reference.lossSum, accuracy: 1e-4 * abs(reference.lossSum) + 1e-5,
                                   context)
                    XCTAssertEqual(out.users.ids, users.ids, context)
                    XCTAssertEqual(out.items.ids, items.ids, context)
                    XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.users), users.values), 2e-3, context)
                    XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.items), items.values), 2e-3, context)
                }
            }
        }
    }

    /// Negatives with gradients (live item rows) through the fused kernel: for every block size and thread count,
    /// dLoss/dn equals the reference's, summed with the positives' rows by item id, with accidental hits, logQ
    /// offsets and the bilateral loss.
    func testNegativeGradientsOfEveryBlockSizeMatchReference() {
        let configurations: [LossSettings] = [
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1, liveNegatives: true),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.02, logQCorrection: true,
                         liveNegatives: true),
            LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1, liveNegatives: true,
                         positiveTemperature: 0.122),
            LossSettings(kind: .bankInfoNCE, similarity: .dot, temperature: 0.5, removeAccidentalHits: false,
                         positiveTemperature: 0.4, trainedBankNegatives: true),
        ]
        var random = SeededRandom(seed: 7)
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        for (c, settings) in configurations.enumerated() {
            for K in [1, 7, 37, 300] {
                let B = 1 + random.nextInt(below: 40), d = 3 + random.nextInt(below: 40)
                let p = LossFixtures.randomProblem(batch: B, negatives: K, dim: d, seed: UInt64(500 * c + K))
                let logQ = (0 ..< K).map { _ in Float(-3 - 4 * random.nextUnit()) }
                let reference = reference(settings, p, negatives: settings.liveNegatives ? p.itemTable : p.bank,
                                          logQ: logQ)
                let items = LossFixtures.sumById(ids: p.items + p.negatives, rows: reference.positives + reference.negatives)
                var first: MinibatchGradient?
                for (rows, threads) in blockings {
                    let context = "config \(c) B=\(B) K=\(K) d=\(d) block rows \(rows) threads \(threads)"
                    let out = compute(settings, p, logQ: logQ, blockRows: rows, threads: threads)
                    XCTAssertEqual(out.lossSum, reference.lossSum, accuracy: 1e-4 * abs(reference.lossSum) + 1e-5, context)
                    XCTAssertEqual(out.items.ids, items.ids, context)
                    XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.items), items.values), 2e-3, context)
                    if rows == 1 && threads == 1 { first = out }
                }
                // The same block size and thread count give the same bits every time.
                XCTAssertEqual(compute(settings, p, logQ: logQ, blockRows: 1, threads: 1).items, first?.items)
            }
        }
    }

    /// The bilateral softmax loss by hand, in the plane: q = (1, 0), the positive at 60°, negatives at 0° and 90°.
    /// loss = −cos 60°/τ⁺ + log(e^{1/τ} + e^{0}); the positive is pulled with 1/τ⁺ and the negatives pushed with
    /// softmax/τ, so τ⁺ changes the direction of the gradient, not only its length.
    func testBilateralLossByHand() {
        let tau: Float = 0.5
        let c60 = Float(0.5), s60 = Float(3).squareRoot() / 2
        let q: [Float] = [1, 0], p: [Float] = [c60, s60], n: [Float] = [1, 0, 0, 1]
        var block = [Float](repeating: 0, count: 4), dq = [Float](repeating: 0, count: 2), dp = dq
        var directions: [[Float]] = []
        for tauPlus: Float in [0.5, 1] {
            let loss = q.withUnsafeBufferPointer { q in
                p.withUnsafeBufferPointer { p in
                    n.withUnsafeBufferPointer { n in
                        bankContrastiveForwardBackward(
                            ContrastiveRows(q: q.baseAddress!, p: p.baseAddress!, n: n.baseAddress, batch: 1,
                                            negatives: 2, dim: 2),
                            temperature: tau, positiveTemperature: tauPlus, block: &block, blockRows: 1, dq: &dq, dp: &dp)
                    }
                }
            }
            let e0 = exp(Double(1 / tau)), e1 = 1.0, z = e0 + e1
            XCTAssertEqual(loss, -0.5 / Double(tauPlus) + log(z), accuracy: 1e-6, "τ⁺ \(tauPlus)")
            // dq = −p/τ⁺ + (e0·n0 + e1·n1)/(τ z);  dp = −q/τ⁺
            let w0 = Float(e0 / z) / tau, w1 = Float(e1 / z) / tau
            XCTAssertEqual(dq[0], -c60 / tauPlus + w0, accuracy: 1e-5, "τ⁺ \(tauPlus)")
            XCTAssertEqual(dq[1], -s60 / tauPlus + w1, accuracy: 1e-5, "τ⁺ \(tauPlus)")
            XCTAssertEqual(dp[0], -1 / tauPlus, accuracy: 1e-6)
            XCTAssertEqual(dp[1], 0, accuracy: 1e-6)
            let norm = (dq[0] * dq[0] + dq[1] * dq[1]).squareRoot()
            directions.append([dq[0] / norm, dq[1] / norm])
        }
        // A loss that only rescales with τ⁺ would give the same direction twice (and Adam would not see τ⁺ at all).
        XCTAssertGreaterThan(abs(directions[0][0] - directions[1][0]) + abs(directions[0][1] - directions[1][1]), 0.05)
    }

    /// The branch-free exp is within 3e-7 relative of Foundation's over the softmax range; −∞, NaN and everything
    /// at or below −87.7 give 0.
    func testExpMatchesFoundation() {
        var worst = 0.0
        var x: Float = -87
        while x <= 1 {
            let expected = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(branchFreeExp(x)) - expected) / expected)
            x += 0.003_7
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(branchFreeExp(-.infinity), 0)
        XCTAssertEqual(branchFreeExp(-87.7), 0)
        XCTAssertEqual(branchFreeExp(-88.5), 0)
        XCTAssertEqual(branchFreeExp(.nan), 0)
        // Between −87.7 and −87.3 the true value, below the smallest normal float (a subnormal).
        XCTAssertEqual(Double(branchFreeExp(-87.5)), Foundation.exp(-87.5), accuracy: 1e-3 * Foundation.exp(-87.5))
        // Each lane is computed on its own: a lane gives the same bits whatever its neighbours hold.
        var lanes: [Float] = [-.infinity, -100, -87.3, -20.5, -1e-3, 0, 0.5, 1]
        for _ in 0 ..< 200 {
            let vector = branchFreeExp(SIMD8<Float>(lanes))
            for (j, v) in lanes.enumerated() { XCTAssertEqual(vector[j].bitPattern, branchFreeExp(v).bitPattern, "x = \(v)") }
            lanes = lanes.map { $0 == -.infinity ? -0.4321 : $0 * 0.97 - 0.013 }
        }
        var row: [Float] = (0 ..< 21).map { Float($0) * -0.5 }   // two groups of eight and a tail of five
        var weights = [Float](repeating: -1, count: 21)
        let sum = row.withUnsafeMutableBufferPointer { logits in
            weights.withUnsafeMutableBufferPointer { exponentiateRow(logits.baseAddress!, into: $0.baseAddress!, count: 21, shift: 0.25) }
        }
        let expected = (0 ..< 21).reduce(0.0) { $0 + Foundation.exp(Double($1) * -0.5 - 0.25) }
        XCTAssertEqual(sum, expected, accuracy: 1e-6 * expected)
        XCTAssertEqual(Double(weights[20]), Foundation.exp(-10.25), accuracy: 1e-6 * Foundation.exp(-10.25))
        XCTAssertEqual(row, [Float](repeating: 0, count: 21), "the logits are left zero for the next GEMM")
    }

    /// Both forms of the exp-and-sum pass (the AVX2 + FMA kernel where the CPU has it, and the portable Swift one)
    /// match Foundation's exp over the softmax range, write zeros over the logits, and neither read nor write past
    /// the row's end, for every tail length.
    func testRowPassesMatchFoundation() throws {
        #if arch(x86_64)
        // Every x86-64 machine this project runs on has AVX2 and FMA; a change that loses the fast path shows here.
        XCTAssertTrue(exponentiationUsesFMA, "no AVX2 + FMA kernel on this CPU")
        #endif
        typealias Pass = (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int, Float) -> Double
        // The in-place forms run on the weights buffer, filled with the logits first (and the logits are then
        // cleared here, which the zero check below takes on trust for them).
        func inPlace(_ form: @escaping (UnsafeMutablePointer<Float>, Int, Float) -> Double) -> Pass {
            { logits, weights, count, shift in
                weights.update(from: logits, count: count)
                logits.update(repeating: 0, count: count)
                return form(weights, count, shift)
            }
        }
        var passes: [(String, Pass)] = [
            ("portable", { exponentiateRowPortably($0, into: $1, count: $2, shift: $3) }),
            ("portable in place", inPlace { exponentiateRowInPlacePortably($0, count: $1, shift: $2) }),
        ]
        if exponentiationUsesFMA {
            passes.append(("avx2+fma", { exponentiateRow($0, into: $1, count: $2, shift: $3) }))
            passes.append(("avx2+fma in place", inPlace { exponentiateRowInPlace($0, count: $1, shift: $2) }))
        }
        for (name, pass) in passes {
            for count in [0, 1, 7, 8, 9, 15, 1031] {
                let shift: Float = 10.001
                let values: [Float] = (0 ..< count).map { i in i == 3 ? -.infinity : i == 5 ? -200 : shift + 1e-3 - Float(i % 877) * 0.0991 }
                // One sentinel after the row in both buffers.
                var logits = values + [42], weights = [Float](repeating: -7, count: count + 1)
                let sum = logits.withUnsafeMutableBufferPointer { l in
                    weights.withUnsafeMutableBufferPointer { pass(l.baseAddress!, $0.baseAddress!, count, shift) }
                }
                var expected = 0.0
                for i in 0 ..< count {
                    let e = Foundation.exp(Double(values[i] - shift))   // the argument is rounded to float first
                    expected += e
                    if values[i] - shift <= -87.7 {   // −∞ (a masked column) and −200
                        XCTAssertEqual(weights[i], 0, "\(name) count \(count)")
                    } else {
                        XCTAssertEqual(Double(weights[i]), e, accuracy: 4e-7 * e, "\(name) count \(count) at \(i)")
                    }
                }
                XCTAssertEqual(sum, expected, accuracy: 1e-6 * Swift.max(expected, 1e-30), "\(name) count \(count)")
                XCTAssertEqual(Array(logits.prefix(count)), [Float](repeating: 0, count: count), "\(name) count \(count)")
                XCTAssertEqual(logits[count], 42, "\(name) wrote past the logits")
                XCTAssertEqual(weights[count], -7, "\(name) wrote past the weights")
            }
        }
    }
}
