import Foundation

// Softmax cross-entropy of each query against its positive and a set of negatives, forward and backward in one
// pass, BLAS-backed. Inputs are already normalised for cosine similarity; `normalizeRowsBackward` carries the
// gradients back to the raw rows. The naive float64 counterpart is `ContrastiveReference`.
//
// Columns of the logits, C = P + K:
//   inBatch == false: P = 1,  logits_b = [q_b·p_b, q_b·n_1 … q_b·n_K] / τ,          target column 0
//   inBatch == true:  P = B,  logits_b = [q_b·p_1 … q_b·p_B, q_b·n_1 … q_b·n_K] / τ, target column b

/// Number of logit columns for `batch` rows and `negatives` shared negatives.
@inlinable
public func contrastiveLogitColumns(batch: Int, negatives: Int, inBatch: Bool) -> Int {
    (inBatch ? batch : 1) + negatives
}

/// Forward and backward of the softmax contrastive loss. Returns Σ_b loss_b.
///
/// rows: q (B, d) queries, p (B, d) positives, n (K, d) shared negatives (ignored when K == 0).
/// masks (`LogitMasks`): a negative column whose item id equals the row's positive id is masked (logit −∞); with
/// inBatch, column j ≠ b is masked when positiveIds[j] == positiveIds[b]. With `seen` (and positiveIds), so is every
/// such column whose item is among the items of the row's user. The offsets (K) are subtracted from every row's
/// negative logit k (logQ correction: log(K·q_k)).
/// ccl (margin m, weight w): instead of a softmax, the cosine contrastive loss of each row (`cclRow`); pass
/// temperature 1 and no offsets.
/// positiveTemperature τ⁺ (BSL): loss_b = −s_target/τ⁺ + log Σ_{c ≠ target} exp(logit_c), the log-sum taken as 0
/// when every other column is masked; nil: plain softmax cross-entropy.
/// logits (B, C) scratch; on return it holds dLoss/d(similarity) = (softmax − onehot)/τ (BSL: softmax over the
/// other columns / τ, and −1/τ⁺ at the target).
/// dq (B, d), dp (B, d): overwritten with dLoss/dq, dLoss/dp. dn (K, d): overwritten with dLoss/dn when given.
public func contrastiveSoftmaxForwardBackward(
    _ rows: ContrastiveRows, inBatch: Bool, temperature: Float, positiveTemperature: Float? = nil,
    ccl: (margin: Float, weight: Float)? = nil, masks: LogitMasks = .none, logits: UnsafeMutablePointer<Float>,
    dq: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, dn: UnsafeMutablePointer<Float>?
) -> Double {
    let q = rows.q, p = rows.p, n = rows.n, B = rows.batch, K = rows.negatives, d = rows.dim
    let positiveIds = masks.positiveIds, negativeIds = masks.negativeIds
    let negativeLogitOffset = masks.negativeLogitOffset, seen = masks.seen
    precondition(B >= 0 && K >= 0 && d > 0, "contrastive kernel shape B=\(B) K=\(K) d=\(d)")
    precondition(temperature > 0, "temperature must be positive, got \(temperature)")
    precondition(K == 0 || n != nil, "contrastive kernel: K=\(K) negatives but no negative rows")
    if B == 0 { return 0 }
    let invTau = 1 / temperature
    let P = inBatch ? B : 1
    let C = P + K
    // logits (B, C): positive block
    if inBatch {
        // logits[:, 0..<B] = q (B, d) · pᵀ (d, B) / τ
        BLAS.sgemm(.none, .transpose, m: B, n: B, k: d, alpha: invTau, a: q, lda: d, b: p, ldb: d,
                   beta: 0, c: logits, ldc: C)
    } else {
        for b in 0 ..< B { logits[b * C] = dotProduct(q + b * d, p + b * d, count: d) * invTau }
    }
    // logits[:, P..<C] = q (B, d) · nᵀ (d, K) / τ
    if K > 0, let n {
        BLAS.sgemm(.none, .transpose, m: B, n: K, k: d, alpha: invTau, a: q, lda: d, b: n, ldb: d,
                   beta: 0, c: logits + P, ldc: C)
    }

    // Masks, logQ, softmax and loss, row by row; the row becomes (softmax − onehot)/τ. The candidates for masking
    // are the other rows' positives (in-batch, columns 0..<B) and the negatives (columns P..<C).
    let maskedPositives = positiveIds != nil && inBatch ? B : 0
    let maskedNegatives = positiveIds != nil && negativeIds != nil ? K : 0
    let candidates = maskedPositives + maskedNegatives
    let hitColumns = UnsafeMutablePointer<Int32>.allocate(capacity: candidates)   // a row's masked columns
    defer { hitColumns.deallocate() }
    let lossSum = MaskedColumns.with(
        count: candidates,
        id: { $0 < maskedPositives ? positiveIds![$0] : negativeIds![$0 - maskedPositives] },
        column: { $0 < maskedPositives ? $0 : P + $0 - maskedPositives },
        seen: seen
    ) { mask in
        var lossSum = 0.0
        for b in 0 ..< B {
            let row = logits + b * C
            let target = inBatch ? b : 0
            if let offsets = negativeLogitOffset {
                for k in 0 ..< K { row[P + k] -= offsets[k] }
            }
            if candidates > 0 {
                let hits = mask.columns(row: b, positive: positiveIds![b], target: target,
                                        into: hitColumns, capacity: candidates)
                for h in 0 ..< hits { row[Int(hitColumns[h])] = -.infinity }
            }
            if let ccl {
                lossSum += cclRow(row, columns: C, target: target, margin: ccl.margin, weight: ccl.weight)
                continue
            }
            if let tauPlus = positiveTemperature {
                lossSum += bilateralRow(row, columns: C, target: target, temperature: temperature,
                                        positiveTemperature: tauPlus)
                continue
            }
            let mx = rowMaximum(row, count: C)   // finite: the target is never masked
            let targetLogit = row[target]
            let sum = exponentiateRowInPlace(row, count: C, shift: mx)
            lossSum += Double(mx) + log(sum) - Double(targetLogit)
            scaleRow(row, by: Float(Double(invTau) / sum), count: C)
            row[target] -= invTau
        }
        return lossSum
    }

    // dq (B, d) = G[:, 0..<P] · (p or diag p) + G[:, P..<C] (B, K) · n (K, d)
    // dp (B, d) = G[:, 0..<B]ᵀ · q  (in-batch) or G[b, 0] · q_b
    let g = UnsafePointer(logits)
    if inBatch {
        BLAS.sgemm(.none, .none, m: B, n: d, k: B, alpha: 1, a: g, lda: C, b: p, ldb: d, beta: 0, c: dq, ldc: d)
        BLAS.sgemm(.transpose, .none, m: B, n: d, k: B, alpha: 1, a: g, lda: C, b: q, ldb: d, beta: 0, c: dp, ldc: d)
    } else {
        for b in 0 ..< B {
            let gb = g[b * C]
            let qb = q + b * d, pb = p + b * d, dqb = dq + b * d, dpb = dp + b * d
            for j in 0 ..< d {
                dqb[j] = gb * pb[j]
                dpb[j] = gb * qb[j]
            }
        }
    }
    if K > 0, let n {
        BLAS.sgemm(.none, .none, m: B, n: d, k: K, alpha: 1, a: g + P, lda: C, b: n, ldb: d, beta: 1, c: dq, ldc: d)
        // dn (K, d) = G[:, P..<C]ᵀ (K, B) · q (B, d)
        if let dn {
            BLAS.sgemm(.transpose, .none, m: K, n: d, k: B, alpha: 1, a: g + P, lda: C, b: q, ldb: d,
                       beta: 0, c: dn, ldc: d)
        }
    }
    return lossSum
}

/// One row of the bilateral softmax loss: `row` (C logits / τ, masked ones −∞) becomes dLoss/d(similarity);
/// returns the row's loss −s_target/τ⁺ + log Σ_{c ≠ target} exp(logit_c).
@inline(__always)
func bilateralRow(_ row: UnsafeMutablePointer<Float>, columns C: Int, target: Int, temperature: Float,
                  positiveTemperature tauPlus: Float) -> Double {
    let targetLogit = row[target]
    row[target] = -.infinity
    let mx = rowMaximum(row, count: C)
    var loss = -Double(targetLogit) * Double(temperature) / Double(tauPlus)
    if mx == -.infinity {
        row.update(repeating: 0, count: C)
    } else {
        let sum = exponentiateRowInPlace(row, count: C, shift: mx)
        loss += Double(mx) + log(sum)
        scaleRow(row, by: Float(1 / (Double(temperature) * sum)), count: C)
    }
    row[target] = -1 / tauPlus
    return loss
}

/// One row of the cosine contrastive loss: `row` (C similarities, masked ones −∞) becomes dLoss/d(similarity);
/// returns max(0, 1 − s_target) + (w / C') Σ_{c ≠ target, not masked} max(0, s_c − m), C' the unmasked others.
@inline(__always)
func cclRow(_ row: UnsafeMutablePointer<Float>, columns C: Int, target: Int, margin: Float, weight: Float) -> Double {
    let positive = row[target]
    var valid = 0
    for c in 0 ..< C where c != target && row[c] > -.infinity { valid += 1 }
    var loss = Double(Swift.max(0, 1 - positive))
    let share = valid > 0 ? weight / Float(valid) : 0
    var negativeSum = 0.0
    for c in 0 ..< C where c != target {
        let s = row[c]
        if s > margin {
            negativeSum += Double(s - margin)
            row[c] = share
        } else {
            row[c] = 0
        }
    }
    loss += Double(share) * negativeSum
    row[target] = positive < 1 ? -1 : 0
    return loss
}

/// MNR loss with explicit negatives (dot product, temperature τ): each anchor against [its positive; the shared
/// negatives], cross-entropy with target 0, summed over anchors. Gradients flow to anchors, positives and negatives.
///
/// anchors (B, d), positives (B, d), negatives (K, d) row-major; returns (Σ loss, dAnchors, dPositives, dNegatives).
public func mnrLossWithExplicitNegatives(
    anchors: [Float], positives: [Float], negatives: [Float], dim d: Int, temperature: Float = 1
) -> (lossSum: Double, anchors: [Float], positives: [Float], negatives: [Float]) {
    precondition(d > 0 && anchors.count % d == 0 && negatives.count % d == 0, "MNR rows are not of dim \(d)")
    precondition(positives.count == anchors.count, "MNR needs one positive per anchor")
    let B = anchors.count / d, K = negatives.count / d
    precondition(B > 0, "MNR needs at least one anchor")
    var logits = [Float](repeating: 0, count: B * (1 + K))
    var da = [Float](repeating: 0, count: B * d)
    var dp = da
    var dn = [Float](repeating: 0, count: K * d)
    let loss = anchors.withUnsafeBufferPointer { a in
        positives.withUnsafeBufferPointer { p in
            negatives.withUnsafeBufferPointer { n in
                logits.withUnsafeMutableBufferPointer { s in
                    da.withUnsafeMutableBufferPointer { ga in
                        dp.withUnsafeMutableBufferPointer { gp in
                            dn.withUnsafeMutableBufferPointer { gn in
                                contrastiveSoftmaxForwardBackward(
                                    ContrastiveRows(q: a.baseAddress!, p: p.baseAddress!, n: n.baseAddress, batch: B,
                                                    negatives: K, dim: d),
                                    inBatch: false, temperature: temperature, logits: s.baseAddress!,
                                    dq: ga.baseAddress!, dp: gp.baseAddress!, dn: gn.baseAddress)
                            }
                        }
                    }
                }
            }
        }
    }
    return (loss, da, dp, dn)
}
