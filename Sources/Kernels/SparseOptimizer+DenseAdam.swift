import CAdamRest

/// Whether the resting steps run in the AVX2 kernel of `CAdamRest` (bit for bit the portable row's results).
let restingStepsUseAVX2 = cadamrest_available() != 0

/// Row (θ, m, v) takes the resting steps `steps` (each a step's factor), gradient zero and no decay: the AVX2 kernel
/// where the CPU has it, else `adamRow` with the zero row `zero` (at least `count` zeros), with the same results.
@inline(__always)
func adamRestingSteps(
    _ row: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
    count d: Int, steps: UnsafeBufferPointer<Float>, beta1: Float, beta2: Float, epsilon: Float,
    zero: UnsafePointer<Float>, portable: Bool = !restingStepsUseAVX2
) {
    guard !steps.isEmpty else { return }
    if !portable {
        cadamrest_steps(row, m, v, d, steps.baseAddress!, steps.count, beta1, beta2, epsilon)
        return
    }
    for step in steps {
        adamRow(row, zero, m, v, count: d, beta1: beta1, beta2: beta2, decay: 0, step: step, epsilon: epsilon)
    }
}

/// Dense Adam, lazily: a row takes the steps it was absent for (gradient zero, no decay, each step's own factor)
/// when it is next read or next in a gradient, so that only the rows read cost anything.
extension SparseOptimizer {
    /// Brings the rows `ids` (any order, repeats allowed, each < rows) to the current step. A no-op for the other
    /// optimizers and for rows already current or at rest.
    public func catchUp<S: Sequence>(_ ids: S, in table: EmbeddingTable) where S.Element == UInt32 {
        guard settings.kind == .denseAdam else { return }
        withDenseAdamRows(table) { rows in
            let now = stepCount
            // Random rows, mostly cache misses: each is asked for `prefetchDistance` rows before it is caught up.
            var ahead: [Int] = []
            ahead.reserveCapacity(prefetchDistance)
            var oldest = 0
            for id in ids {
                precondition(Int(id) < self.rows, "catch-up of row \(id) outside 0..<\(self.rows)")
                let r = Int(id)
                rows.prefetch(r, to: now)
                if ahead.count < prefetchDistance {
                    ahead.append(r)
                } else {
                    rows.catchUp(ahead[oldest], to: now)
                    ahead[oldest] = r
                    oldest = (oldest + 1) % prefetchDistance
                }
            }
            for k in 0 ..< ahead.count { rows.catchUp(ahead[(oldest + k) % ahead.count], to: now) }
        }
    }

    /// `catchUp` of rows in strictly ascending order (each once), spread over the cores (`RowLanes`): rows never
    /// meet, so the results are those of one thread.
    public func catchUp(ascending ids: [UInt32], in table: EmbeddingTable) {
        guard settings.kind == .denseAdam else { return }
        for k in ids.indices.dropFirst() {
            precondition(ids[k - 1] < ids[k], "catch-up rows not strictly ascending at \(k)")
        }
        precondition(ids.last.map { Int($0) < rows } ?? true, "catch-up of row \(ids.last ?? 0) outside 0..<\(rows)")
        withDenseAdamRows(table) { rows in
            let now = stepCount
            ids.withUnsafeBufferPointer { ids in
                RowLanes.forEach(count: ids.count) { range in
                    for k in range {
                        if k + prefetchDistance < range.upperBound { rows.prefetch(Int(ids[k + prefetchDistance]), to: now) }
                        rows.catchUp(Int(ids[k]), to: now)
                    }
                }
            }
        }
    }

    /// Brings every row to the current step (before the whole table or the optimizer state is read), spread over
    /// the cores.
    public func catchUpAll(in table: EmbeddingTable) {
        guard settings.kind == .denseAdam else { return }
        withDenseAdamRows(table) { rows in
            let now = stepCount
            RowLanes.forEach(count: self.rows) { range in
                for r in range { rows.catchUp(r, to: now) }
            }
        }
    }

    /// `state` after `catchUpAll(in: table)`.
    public func state(catchingUp table: EmbeddingTable) -> [[Float]] {
        catchUpAll(in: table)
        return state
    }

    /// Whether every row has taken all its steps (dense Adam; always true for the others).
    public var isCaughtUp: Bool {
        guard settings.kind == .denseAdam else { return true }
        for r in 0 ..< rows where caughtUpTo[r] < min(stepCount, lastInGradient[r] + restAfter) { return false }
        return true
    }

    /// Step t = stepCount (its factor already recorded): each gradient row first takes its absent steps up to t−1,
    /// then step t with its gradient and weight decay. Rows not in the gradient are not touched.
    func applyDenseAdam(_ gradient: SparseRows, to table: EmbeddingTable) {
        let decay = settings.weightDecay, ids = gradient.ids, d = dim
        withDenseAdamRows(table) { rows in
            let t = stepCount
            let step = rows.factors[t - factorBase - 1]
            // The gradient's rows are distinct (ascending): they are spread over the cores.
            gradient.values.withUnsafeBufferPointer { grads in
                ids.withUnsafeBufferPointer { ids in
                    RowLanes.forEach(count: ids.count) { range in
                        for k in range {
                            if k + prefetchDistance < range.upperBound {   // random rows: ask for them early
                                let ahead = Int(ids[k + prefetchDistance]) * d
                                prefetchRowForWriting(rows.theta + ahead, count: d)
                                prefetchRowForWriting(rows.m + ahead, count: d)
                                prefetchRowForWriting(rows.v + ahead, count: d)
                            }
                            let r = Int(ids[k])
                            rows.catchUp(r, to: t - 1)
                            adamRow(rows.theta + r * d, grads.baseAddress! + k * d, rows.m + r * d, rows.v + r * d,
                                    count: d, beta1: rows.beta1, beta2: rows.beta2, decay: decay, step: step,
                                    epsilon: rows.epsilon)
                            rows.lastInGradient[r] = t
                            rows.caughtUpTo[r] = t
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with the table, m, v and the per-row step counts at hand (nothing for an empty table).
    private func withDenseAdamRows(_ table: EmbeddingTable, _ body: (DenseAdamRows) -> Void) {
        precondition(table.rows == rows && table.dim == dim,
                     "optimizer for \(rows)×\(dim) given a \(table.rows)×\(table.dim) table")
        guard rows > 0 else { return }
        let s = settings
        table.withUnsafeMutableValues { theta in
            first.withUnsafeMutableBufferPointer { m in
                second.withUnsafeMutableBufferPointer { v in
                    lastInGradient.withUnsafeMutableBufferPointer { last in
                        caughtUpTo.withUnsafeMutableBufferPointer { caughtUp in
                            stepFactors.withUnsafeBufferPointer { factors in
                                zeroRow.withUnsafeBufferPointer { zero in
                                    body(DenseAdamRows(
                                        theta: theta.baseAddress!, m: m.baseAddress!, v: v.baseAddress!,
                                        zero: zero.baseAddress!, lastInGradient: last, caughtUpTo: caughtUp,
                                        factors: factors, factorBase: factorBase, restAfter: restAfter, dim: dim,
                                        beta1: s.beta1, beta2: s.beta2, epsilon: s.epsilon))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The dense-Adam arrays of one optimizer and its table, for the length of one call.
private struct DenseAdamRows {
    let theta: UnsafeMutablePointer<Float>   // (rows, dim)
    let m: UnsafeMutablePointer<Float>       // (rows, dim)
    let v: UnsafeMutablePointer<Float>       // (rows, dim)
    let zero: UnsafePointer<Float>           // (dim)
    let lastInGradient: UnsafeMutableBufferPointer<Int>   // (rows)
    let caughtUpTo: UnsafeMutableBufferPointer<Int>       // (rows)
    let factors: UnsafeBufferPointer<Float>  // (steps since factorBase)
    let factorBase: Int
    let restAfter: Int
    let dim: Int
    let beta1: Float, beta2: Float, epsilon: Float

    /// Asks for row r's θ, m, v if it has steps to take up to `target`.
    @inline(__always)
    func prefetch(_ r: Int, to target: Int) {
        guard caughtUpTo[r] < min(target, lastInGradient[r] + restAfter) else { return }
        prefetchRowForWriting(theta + r * dim, count: dim)
        prefetchRowForWriting(m + r * dim, count: dim)
        prefetchRowForWriting(v + r * dim, count: dim)
    }

    /// Row r takes its absent steps after `caughtUpTo[r]` up to `target` (≥ caughtUpTo[r]), those before it comes
    /// to rest: step s moves it iff s ≤ lastInGradient[r] + restAfter, with gradient zero, no decay, factor of s.
    @inline(__always)
    func catchUp(_ r: Int, to target: Int) {
        let from = caughtUpTo[r]
        guard from < target else { return }
        let end = min(target, lastInGradient[r] + restAfter)
        if from < end {
            let d = dim
            adamRestingSteps(theta + r * d, m + r * d, v + r * d, count: d,
                             steps: UnsafeBufferPointer(rebasing: factors[(from - factorBase) ..< (end - factorBase)]),
                             beta1: beta1, beta2: beta2, epsilon: epsilon, zero: zero)
        }
        caughtUpTo[r] = target
    }
}
