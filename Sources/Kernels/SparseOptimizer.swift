import Foundation

/// A checkpointed optimizer state that does not fit this optimizer.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

/// Optimizer for one table. All rules but dense Adam are lazy: only rows present in the gradient move.
///
/// - Adam: per-element m, v; bias correction with the optimizer's global step count t (like torch SparseAdam:
///   θ ← θ − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε)); t is incremented once per `apply`.
/// - Dense Adam: the same rule on every row each step, a row absent from the gradient with gradient zero (like
///   torch Adam on a dense table): m ← β₁m, v ← β₂v, and the row keeps moving along m. A row comes to rest once it
///   has been absent for `restAfter` steps in a row, when its step has shrunk below 10⁻⁶ of its last one
///   ((β₁/√β₂)ᵏ), and stays put until it is in a gradient again; rows never in a gradient do not move.
///   The absent steps are taken lazily: `apply` moves only the gradient's rows, and a row's steps since it was
///   last brought up to date are taken when it is next read (`catchUp`, `catchUpAll`, and first thing when it is
///   in a gradient again), in order, each with that step's own factor (bias correction and learning-rate scale),
///   by the same row function: the results are bit for bit those of stepping every row every step.
///   Readers of a table under dense Adam must catch up the rows they read first; `state` requires every row caught up.
/// - Adagrad: row-wise, one accumulator per row: acc ← acc + mean_j g_j²; θ ← θ − lr·g/(√acc + ε).
/// - SGD: θ ← θ − lr·g.
/// Weight decay adds weightDecay·θ to the gradient of touched rows first.
public final class SparseOptimizer {
    public let settings: OptimizerSettings
    public let rows: Int
    public let dim: Int
    public private(set) var stepCount: Int = 0
    /// Adam: m (rows, dim); Adagrad: accumulator (rows); SGD: empty.
    var first: AlignedFloats
    /// Adam: v (rows, dim); otherwise empty.
    var second: AlignedFloats
    /// Dense Adam: the step count at which each row was last in a gradient; a row never in one (or at rest when
    /// restored) holds a count ≤ stepCount − restAfter. A row moves on its momentum through step
    /// `lastInGradient + restAfter`. Otherwise empty.
    var lastInGradient: [Int]
    /// Dense Adam: the step count up to which each row has taken its steps (≤ stepCount). Otherwise empty.
    var caughtUpTo: [Int]
    /// Dense Adam: the Adam factor lr·scale·√(1−β₂ᵗ)/(1−β₁ᵗ) of each step since `factorBase` (the step count at
    /// creation or restore, when every row is current): step s used `stepFactors[s − factorBase − 1]`.
    var stepFactors: [Float] = []
    var factorBase = 0
    /// Dense Adam: a row of zeros, the gradient of an absent step.
    let zeroRow: [Float]
    /// Dense Adam: steps of absence after which a row rests (0 without momentum: an absent row has m = 0).
    public let restAfter: Int

    public init(settings: OptimizerSettings, rows: Int, dim: Int) {
        precondition(rows >= 0 && dim > 0, "SparseOptimizer needs rows >= 0 and dim > 0, got \(rows)×\(dim)")
        self.settings = settings
        self.rows = rows
        self.dim = dim
        restAfter = settings.kind == .denseAdam ? Self.restingHorizon(beta1: settings.beta1, beta2: settings.beta2) : 0
        lastInGradient = []
        caughtUpTo = []
        zeroRow = settings.kind == .denseAdam ? [Float](repeating: 0, count: dim) : []
        switch settings.kind {
        case .adam:   // random rows: aligned and on 2 MiB pages, like the tables
            first = AlignedFloats(repeating: 0, count: rows * dim)
            second = AlignedFloats(repeating: 0, count: rows * dim)
        case .denseAdam:
            first = AlignedFloats(repeating: 0, count: rows * dim)
            second = AlignedFloats(repeating: 0, count: rows * dim)
            lastInGradient = [Int](repeating: -restAfter, count: rows)
            caughtUpTo = [Int](repeating: 0, count: rows)
        case .adagrad:
            first = AlignedFloats(repeating: 0, count: rows)
            second = AlignedFloats(repeating: 0, count: 0)
        case .sgd:
            first = AlignedFloats(repeating: 0, count: 0)
            second = AlignedFloats(repeating: 0, count: 0)
        }
    }

    /// The smallest k with (β₁/√β₂)ᵏ ≤ 10⁻⁶: how long the step of an absent row takes to fade (132 for 0.9, 0.999).
    static func restingHorizon(beta1: Float, beta2: Float) -> Int {
        let ratio = Double(beta1) / Double(beta2).squareRoot()
        guard ratio > 0 else { return 0 }
        guard ratio < 1 else { return Int(Int32.max) }
        return Int((log(1e-6) / log(ratio)).rounded(.up))
    }

    /// The state arrays for a checkpoint: Adam [m, v], dense Adam [m, v, idle steps], Adagrad [accumulator], SGD [].
    /// Idle steps: the steps since a row was last in a gradient, capped at `restAfter` (a row at the cap rests;
    /// small integers, held exactly by a Float). Dense Adam requires every row caught up (`catchUpAll(in:)` first,
    /// or `state(catchingUp:)`): a precondition, so that no checkpoint holds a table behind its optimizer.
    public var state: [[Float]] {
        switch settings.kind {
        case .adam: return [first.array, second.array]
        case .denseAdam:
            precondition(isCaughtUp, "dense Adam state read with rows not caught up to step \(stepCount): catchUpAll(in:) first")
            let idle = lastInGradient.map { Float(min(stepCount - $0, restAfter)) }
            return [first.array, second.array, idle]
        case .adagrad: return [first.array]
        case .sgd: return []
        }
    }

    /// Restores what `state` and `stepCount` returned.
    public func restore(state: [[Float]], stepCount: Int) throws {
        let expected: [Int]
        switch settings.kind {
        case .adam: expected = [rows * dim, rows * dim]
        case .denseAdam: expected = [rows * dim, rows * dim, rows]
        case .adagrad: expected = [rows]
        case .sgd: expected = []
        }
        guard state.map(\.count) == expected else {
            throw OptimizerStateError(description: "\(settings.kind) optimizer state for \(rows)×\(dim) needs arrays of sizes \(expected), got \(state.map(\.count))")
        }
        guard stepCount >= 0 else {
            throw OptimizerStateError(description: "optimizer step count must be >= 0, got \(stepCount)")
        }
        if settings.kind == .denseAdam,
           let bad = state[2].first(where: { !($0 >= 0 && $0 <= Float(restAfter) && $0 == $0.rounded()) }) {
            throw OptimizerStateError(description: "dense Adam idle step count \(bad) outside 0...\(restAfter)")
        }
        switch settings.kind {
        case .adam: first = AlignedFloats(copying: state[0]); second = AlignedFloats(copying: state[1])
        case .denseAdam:
            first = AlignedFloats(copying: state[0])
            second = AlignedFloats(copying: state[1])
            // A row at the cap rests: its last gradient step lies restAfter steps back (or more), so it never moves.
            lastInGradient = state[2].map { $0 >= Float(restAfter) ? stepCount - restAfter : stepCount - Int($0) }
            caughtUpTo = [Int](repeating: stepCount, count: rows)
            stepFactors = []
            factorBase = stepCount
        case .adagrad: first = AlignedFloats(copying: state[0])
        case .sgd: break
        }
        self.stepCount = stepCount
    }

    /// Applies one step of the (already averaged) gradient to the rows it names (ids strictly ascending).
    /// `learningRateScale` multiplies the learning rate for this step (a learning-rate schedule).
    /// Returns the ids of the rows that moved, ascending: the gradient's ids. (Dense Adam moves the other rows still
    /// moving on their momentum later, when they are read: `catchUp`.)
    @discardableResult
    public func apply(_ gradient: SparseRows, to table: EmbeddingTable, learningRateScale: Float = 1) -> [UInt32] {
        precondition(gradient.dim == dim && table.dim == dim && table.rows == rows,
                     "optimizer for \(rows)×\(dim) given a gradient of dim \(gradient.dim) and a \(table.rows)×\(table.dim) table")
        for (k, id) in gradient.ids.enumerated() {
            precondition(Int(id) < rows, "gradient row \(id) outside 0..<\(rows)")
            precondition(k == 0 || gradient.ids[k - 1] < id, "gradient ids must be strictly ascending (coalesced)")
        }
        stepCount += 1
        let s = settings
        let d = dim
        let t = Double(stepCount)
        let lr = s.learningRate * learningRateScale
        let adamStep = Float(Double(lr) * (1 - pow(Double(s.beta2), t)).squareRoot()
                             / (1 - pow(Double(s.beta1), t)))
        let decay = s.weightDecay, epsilon = s.epsilon
        let beta1 = s.beta1, beta2 = s.beta2
        if s.kind == .denseAdam {
            stepFactors.append(adamStep)
            applyDenseAdam(gradient, to: table)
            return gradient.ids
        }
        table.withUnsafeMutableValues { theta in
            gradient.values.withUnsafeBufferPointer { grads in
                first.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { v in
                        let theta = theta.baseAddress!, grads = grads.baseAddress!
                        // One loop per rule, the rule chosen once: the inner loops vectorise.
                        switch s.kind {
                        case .sgd:
                            for (k, id) in gradient.ids.enumerated() {
                                let row = theta + Int(id) * d, g = grads + k * d
                                for j in 0 ..< d { row[j] -= lr * (g[j] + decay * row[j]) }
                            }
                        case .adagrad:
                            for (k, id) in gradient.ids.enumerated() {
                                let row = theta + Int(id) * d, g = grads + k * d
                                var meanSquare: Float = 0
                                for j in 0 ..< d {
                                    let gj = g[j] + decay * row[j]
                                    meanSquare += gj * gj
                                }
                                m[Int(id)] += meanSquare / Float(d)
                                let scale = lr / (m[Int(id)].squareRoot() + epsilon)
                                for j in 0 ..< d { row[j] -= scale * (g[j] + decay * row[j]) }
                            }
                        case .denseAdam:
                            preconditionFailure("dense Adam is applied by applyDenseAdam")
                        case .adam:
                            let mBase = m.baseAddress!, vBase = v.baseAddress!
                            let ids = gradient.ids
                            for (k, id) in ids.enumerated() {
                                if k + prefetchDistance < ids.count {   // random rows: ask for them early
                                    let ahead = Int(ids[k + prefetchDistance]) * d
                                    prefetchRowForWriting(theta + ahead, count: d)
                                    prefetchRowForWriting(mBase + ahead, count: d)
                                    prefetchRowForWriting(vBase + ahead, count: d)
                                }
                                let row = theta + Int(id) * d, g = grads + k * d
                                let mr = mBase + Int(id) * d, vr = vBase + Int(id) * d
                                adamRow(row, g, mr, vr, count: d, beta1: beta1, beta2: beta2, decay: decay,
                                        step: adamStep, epsilon: epsilon)
                            }
                        }
                    }
                }
            }
        }
        return gradient.ids
    }
}

/// Adam on one row: θ ← θ − step·m/(√v + ε) after m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², g += decay·θ.
/// Eight lanes at a time (the same operations in the same order as the scalar tail, so the same results): a short
/// loop lets the processor start loading the next rows' θ, m, v, g (random rows, mostly cache misses) while this
/// row is still being computed.
@inline(__always)
func adamRow(
    _ row: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
    _ v: UnsafeMutablePointer<Float>, count d: Int, beta1: Float, beta2: Float, decay: Float, step: Float,
    epsilon: Float
) {
    let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
    var j = 0
    while j + 8 <= d {
        let theta = load8(row + j)
        let gj = load8(g + j) + decay * theta
        let mj = beta1 * load8(m + j) + oneMinusBeta1 * gj
        let vj = beta2 * load8(v + j) + oneMinusBeta2 * gj * gj
        store8(mj, m + j)
        store8(vj, v + j)
        store8(theta - step * mj / (squareRoot(vj) + epsilon), row + j)
        j += 8
    }
    while j < d {
        let theta = row[j]
        let gj = g[j] + decay * theta
        let mj = beta1 * m[j] + oneMinusBeta1 * gj
        let vj = beta2 * v[j] + oneMinusBeta2 * gj * gj
        m[j] = mj
        v[j] = vj
        row[j] = theta - step * mj / (vj.squareRoot() + epsilon)
        j += 1
    }
}
