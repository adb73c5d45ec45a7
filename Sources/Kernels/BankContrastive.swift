import Foundation

// Bank InfoNCE, forward and backward fused per block of rows: the logits of a block of queries against the K
// shared negatives are computed by one GEMM, turned into unnormalised softmax weights in place while they are in
// cache, and multiplied back by the negatives; no (B, K) buffer exists. Same loss and gradients as
// `contrastiveSoftmaxForwardBackward` with inBatch == false (and `ContrastiveReference`).
//
// Per row b, with s_b = q_b·p_b/τ and l_bk = q_b·n_k/τ − offset_k (−∞ for an accidental hit):
//   M_b = max(s_b, max_k l_bk),  e_bk = exp(l_bk − M_b),  e_b0 = exp(s_b − M_b),  Z_b = e_b0 + Σ_k e_bk
//   loss_b = M_b + log Z_b − s_b
//   g_b0 = (e_b0/Z_b − 1)/τ
//   dq_b = g_b0·p_b + (1/(τ Z_b)) Σ_k e_bk n_k      dp_b = g_b0·q_b      dn_k = Σ_b (e_bk/(τ Z_b)) q_b
// With a positive temperature τ⁺ (bilateral softmax, BSL) the positive leaves the sum and has its own temperature:
// c_b = q_b·p_b,  M_b = max_k l_bk,  Z_b = Σ_k e_bk,  loss_b = −c_b/τ⁺ + M_b + log Z_b  (M_b + log Z_b := 0 when
// Z_b = 0);  g_b0 = −1/τ⁺,  dq_b = g_b0·p_b + (1/(τ Z_b)) Σ_k e_bk n_k,  dp_b = g_b0·q_b.
// τ⁺ = τ is the softmax loss with the positive out of the normaliser; τ⁺ > τ pulls the positive less hard than it
// pushes the negatives (BSL's weight t on the log-normaliser is τ⁺ = t·τ).
// Row negatives (`RowNegatives`, hard negatives): row b's own rows h_bm join its sum as further columns,
// l_bm = q_b·h_bm/τ, e_bm = exp(l_bm − M_b) (M_b and Z_b over them too);  dq_b += (1/(τ Z_b)) Σ_m e_bm h_bm,
// dh_bm = (e_bm/(τ Z_b)) q_b.

/// Rows per block of `bankContrastiveForwardBackward` for K negatives: 256 (the GEMMs run near their full-size rate
/// from about 128 rows on), fewer when a (rows, K) block would pass `maximumBytes`, never fewer than 16.
public func bankContrastiveBlockRows(negatives K: Int, maximumBytes: Int = 16 << 20) -> Int {
    Swift.max(16, Swift.min(256, maximumBytes / (4 * Swift.max(K, 1))))
}

/// Forward and backward of the bank softmax contrastive loss. Returns Σ_b loss_b.
///
/// rows: q (B, d) normalised queries, p (B, d) their positives, n (K, d) shared negatives (may be nil when K == 0).
/// masks: accidental hits and seen items left out, the logQ offsets (see `LogitMasks`).
/// logitBound: an upper bound of every logit (1/τ for cosine similarity without offsets), or nil. A row whose
/// positive logit is within 60 of it uses it as the softmax shift instead of the row maximum, which saves a pass.
/// positiveTemperature: τ⁺ of the bilateral softmax loss (see above), nil for InfoNCE.
/// block (2 · threads · min(blockRows, B), K) scratch: per thread a logits block and a weights block. The logits
/// block is zeroed once per call and kept zero: the weights pass reads each logit, writes its weight to the other
/// block and a 0 back, so every further block's GEMM accumulates onto zeros (beta 1) and OpenBLAS does not clear
/// the block first (for beta 0 it writes the whole block once more before each GEMM).
/// dq (B, d), dp (B, d): overwritten with dLoss/dq, dLoss/dp. dn (K, d): overwritten with dLoss/dn when given
/// (negatives that get gradients: live item rows), summed block by block in row order.
/// rowNegatives: each row's own further negatives and their gradients (see above), or nil.
/// threads: the rows are cut into this many contiguous ranges, run side by side, each calling OpenBLAS from its
/// own thread; more than one needs OpenBLAS single-threaded (`BLAS.setThreads(1)`). The loss is summed in range
/// order, so a given thread count gives the same result every time.
public func bankContrastiveForwardBackward(
    _ rows: ContrastiveRows, temperature: Float, positiveTemperature: Float? = nil, masks: LogitMasks = .none,
    logitBound: Float? = nil, block: UnsafeMutablePointer<Float>, blockRows: Int,
    dq: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, dn: UnsafeMutablePointer<Float>? = nil,
    rowNegatives: RowNegatives? = nil, threads: Int = 1
) -> Double {
    let q = rows.q, p = rows.p, n = rows.n, B = rows.batch, K = rows.negatives, d = rows.dim
    let positiveIds = masks.positiveIds, negativeIds = masks.negativeIds
    let negativeLogitOffset = masks.negativeLogitOffset, seen = masks.seen
    precondition(B >= 0 && K >= 0 && d > 0 && blockRows > 0, "bank contrastive shape B=\(B) K=\(K) d=\(d) rows=\(blockRows)")
    precondition(temperature > 0, "temperature must be positive, got \(temperature)")
    precondition(K == 0 || n != nil, "bank contrastive kernel: K=\(K) negatives but no negative rows")
    precondition(threads >= 1, "bank contrastive kernel needs threads >= 1, got \(threads)")
    precondition(threads == 1 || BLAS.threads == 1,
                 "bank contrastive kernel on \(threads) threads needs OpenBLAS single-threaded (it has \(BLAS.threads))")
    precondition(positiveTemperature.map { $0 > 0 } ?? true, "positive temperature must be positive")
    if let dn { dn.update(repeating: 0, count: K * d) }
    if B == 0 { return 0 }
    let invTau = 1 / temperature
    let perRow = rowNegatives?.perRow ?? 0
    // Row b's own negatives: their logits, then their weights e_bm, in rowNegatives.weights; returns their maximum.
    func rowNegativeLogits(_ b: Int) -> Float {
        guard let own = rowNegatives else { return -.infinity }
        var best = -Float.infinity
        for m in 0 ..< Int(own.counts[b]) {
            let l = dotProduct(q + b * d, own.rows + (b * perRow + m) * d, count: d) * invTau
            own.weights[b * perRow + m] = l
            best = Swift.max(best, l)
        }
        return best
    }
    func rowNegativeWeights(_ b: Int, shift: Float) -> Double {
        guard let own = rowNegatives else { return 0 }
        var z = 0.0
        for m in 0 ..< Int(own.counts[b]) {
            let e = exp(own.weights[b * perRow + m] - shift)
            own.weights[b * perRow + m] = e
            z += Double(e)
        }
        return z
    }
    let masking = positiveIds != nil && negativeIds != nil && K > 0
    return MaskedColumns.with(count: masking ? K : 0, id: { negativeIds![$0] }, column: { $0 }, seen: seen) { mask in
        // Rows `range` of the batch, block by block: logits in `block` (blockRows, K), kept zero between blocks,
        // softmax weights in `weights` (blockRows, K); adds their dLoss/dn into `dn` (K, d) when given; returns their
        // Σ loss_b.
        func lossOfRows(_ range: Range<Int>, block: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>,
                        dn: UnsafeMutablePointer<Float>?) -> Double {
            block.update(repeating: 0, count: Swift.min(blockRows, range.count) * K)
            let hitColumns = UnsafeMutablePointer<Int32>.allocate(capacity: masking ? K : 0)   // a row's masked columns
            defer { hitColumns.deallocate() }
            // The block's queries, each scaled by its 1/(τ Z_b) (blockRows, d), for dn.
            let scaledQueries = UnsafeMutablePointer<Float>.allocate(capacity: dn != nil ? blockRows * d : 0)
            defer { scaledQueries.deallocate() }
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * blockRows) { rowScalars in
                // rowScalars: per row of the block, 1/(τ Z_b) then g_b0.
                var lossSum = 0.0
                var r0 = range.lowerBound
                while r0 < range.upperBound {
                    let rows = Swift.min(blockRows, range.upperBound - r0)
                    if K > 0, let n {
                        // block (rows, K) = 0 + q[r0..<r0+rows] (rows, d) · nᵀ (d, K) / τ
                        BLAS.sgemm(.none, .transpose, m: rows, n: K, k: d, alpha: invTau, a: q + r0 * d, lda: d,
                                   b: n, ldb: d, beta: 1, c: block, ldc: K)
                    }
                    for i in 0 ..< rows {
                        let b = r0 + i
                        let row = block + i * K, weight = weights + i * K
                        let positive = dotProduct(q + b * d, p + b * d, count: d) * invTau
                        if let offsets = negativeLogitOffset { subtractRow(row, offsets, count: K) }
                        let hits = UnsafeBufferPointer(start: hitColumns, count: masking
                            ? mask.columns(row: b, positive: positiveIds![b], target: -1, into: hitColumns, capacity: K)
                            : 0)
                        for column in hits { row[Int(column)] = -.infinity }
                        let ownMaximum = rowNegativeLogits(b)
                        if let tauPlus = positiveTemperature {
                            let mx = Swift.max(K > 0 ? rowMaximum(row, count: K) : -.infinity, ownMaximum)
                            var z = 0.0
                            if mx > -.infinity {
                                if K > 0 { z = exponentiateRow(row, into: weight, count: K, shift: mx) }
                                for column in hits {
                                    z -= Double(weight[Int(column)])
                                    weight[Int(column)] = 0
                                }
                                z += rowNegativeWeights(b, shift: mx)
                            } else if K > 0 {   // every negative masked
                                row.update(repeating: 0, count: K)
                                weight.update(repeating: 0, count: K)
                            }
                            lossSum -= Double(positive) * Double(temperature / tauPlus)
                            if z > 0 { lossSum += Double(mx) + log(z) }
                            rowScalars[2 * i] = z > 0 ? Float(Double(invTau) / z) : 0
                            rowScalars[2 * i + 1] = -1 / tauPlus
                            continue
                        }
                        let mx: Float
                        if let bound = logitBound, bound - positive < 60 {
                            mx = Swift.max(bound, positive)
                        } else {
                            mx = Swift.max(positive, rowMaximum(row, count: K), ownMaximum)
                        }
                        let ePositive = Double(exp(positive - mx))
                        var z = ePositive + exponentiateRow(row, into: weight, count: K, shift: mx)
                        for column in hits {
                            z -= Double(weight[Int(column)])
                            weight[Int(column)] = 0
                        }
                        z += rowNegativeWeights(b, shift: mx)
                        lossSum += Double(mx) + log(z) - Double(positive)
                        rowScalars[2 * i] = Float(Double(invTau) / z)
                        rowScalars[2 * i + 1] = Float((ePositive / z - 1) * Double(invTau))
                    }
                    // dq[r0..<r0+rows] (rows, d) = E (rows, K) · n (K, d), then scaled and the positive term added.
                    if K > 0, let n {
                        BLAS.sgemm(.none, .none, m: rows, n: d, k: K, alpha: 1, a: weights, lda: K, b: n, ldb: d,
                                   beta: 0, c: dq + r0 * d, ldc: d)
                    }
                    // dn (K, d) += Eᵀ (K, rows) · (q[r0..<r0+rows] scaled by 1/(τ Z_b)) (rows, d)
                    if K > 0, let dn {
                        for i in 0 ..< rows {
                            let scale = rowScalars[2 * i], qb = q + (r0 + i) * d, out = scaledQueries + i * d
                            for j in 0 ..< d { out[j] = scale * qb[j] }
                        }
                        BLAS.sgemm(.transpose, .none, m: K, n: d, k: rows, alpha: 1, a: weights, lda: K,
                                   b: scaledQueries, ldb: d, beta: 1, c: dn, ldc: d)
                    }
                    for i in 0 ..< rows {
                        let b = r0 + i
                        let scale = rowScalars[2 * i], g0 = rowScalars[2 * i + 1]
                        let qb = q + b * d, pb = p + b * d, dqb = dq + b * d, dpb = dp + b * d
                        if K == 0 { dqb.update(repeating: 0, count: d) }
                        if let own = rowNegatives {
                            let used = Int(own.counts[b])
                            for m in 0 ..< perRow {
                                let slot = b * perRow + m, h = own.rows + slot * d, dh = own.gradients + slot * d
                                guard m < used else {
                                    dh.update(repeating: 0, count: d)
                                    continue
                                }
                                let e = own.weights[slot], weightScale = scale * e
                                for j in 0 ..< d {
                                    dqb[j] += e * h[j]
                                    dh[j] = weightScale * qb[j]
                                }
                            }
                        }
                        for j in 0 ..< d {
                            dqb[j] = scale * dqb[j] + g0 * pb[j]
                            dpb[j] = g0 * qb[j]
                        }
                    }
                    r0 += rows
                }
                return lossSum
            }
        }

        let workers = Swift.min(threads, B)
        let perBlock = Swift.min(blockRows, B) * K   // each worker: logits block, then weights block
        if workers == 1 { return lossOfRows(0 ..< B, block: block, weights: block + perBlock, dn: dn) }
        // Workers after the first sum their dn into buffers of their own, added to dn in worker order.
        let extra = dn != nil ? (workers - 1) * K * d : 0
        let partialDn = UnsafeMutablePointer<Float>.allocate(capacity: extra)
        defer { partialDn.deallocate() }
        partialDn.initialize(repeating: 0, count: extra)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: workers) { partial in
            // Each worker writes only its own rows of dq, dp, its own block, dn buffer and partial sum.
            let shared = UncheckedSendable((lossOfRows, partial, block, dn, partialDn))
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let (work, partial, block, dn, partialDn) = shared.value
                let own = block + 2 * w * perBlock
                let ownDn = dn.map { w == 0 ? $0 : partialDn + (w - 1) * K * d }
                partial[w] = work(B * w / workers ..< B * (w + 1) / workers, own, own + perBlock, ownDn)
            }
            if let dn {
                for w in 1 ..< workers {
                    let part = partialDn + (w - 1) * K * d
                    for x in 0 ..< K * d { dn[x] += part[x] }
                }
            }
            return partial.reduce(0, +)
        }
    }
}

/// Lets pointers into disjoint regions cross into `concurrentPerform`; the caller guarantees the disjointness.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
