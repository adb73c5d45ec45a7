import Foundation

// Bayesian personalised ranking, forward and backward: loss_b = softplus(<u_b, n_b> − <u_b, p_b>), dot product.
// The naive float64 counterpart is `LossReference.bpr`.

/// Forward and backward of BPR over B (user, positive, negative) triples. Returns Σ_b loss_b.
///
/// u (B, d), p (B, d), n (B, d); du, dp, dn (B, d) overwritten with the gradients of the sum.
/// positiveIds, negativeIds (B): when given, a triple whose negative id equals its positive id is skipped
/// (loss 0, zero gradients): it is the same row, not a negative; with `seen`, so is a triple whose negative is
/// among the items of its user (`SeenItems`).
public func bprForwardBackward(
    u: UnsafePointer<Float>, p: UnsafePointer<Float>, n: UnsafePointer<Float>, batch B: Int, dim d: Int,
    positiveIds: UnsafePointer<UInt32>?, negativeIds: UnsafePointer<UInt32>?, seen: SeenItemsView? = nil,
    du: UnsafeMutablePointer<Float>, dp: UnsafeMutablePointer<Float>, dn: UnsafeMutablePointer<Float>
) -> Double {
    precondition(B >= 0 && d > 0, "BPR kernel shape B=\(B) d=\(d)")
    var lossSum = 0.0
    for b in 0 ..< B {
        let ub = u + b * d, pb = p + b * d, nb = n + b * d
        let dub = du + b * d, dpb = dp + b * d, dnb = dn + b * d
        if let pos = positiveIds, let neg = negativeIds,
           pos[b] == neg[b] || seen?.contains(row: b, item: neg[b]) == true {
            dub.update(repeating: 0, count: d)
            dpb.update(repeating: 0, count: d)
            dnb.update(repeating: 0, count: d)
            continue
        }
        // x = <u, n> − <u, p>;  loss = softplus(x);  dloss/dx = σ(x)
        var x: Float = 0
        for j in 0 ..< d { x += ub[j] * (nb[j] - pb[j]) }
        lossSum += Double(Swift.max(x, 0)) + log1p(exp(-Double(abs(x))))
        let s = 1 / (1 + exp(-x))
        for j in 0 ..< d {
            dub[j] = s * (nb[j] - pb[j])
            dpb[j] = -s * ub[j]
            dnb[j] = s * ub[j]
        }
    }
    return lossSum
}

/// BPR on arrays: anchors, positives, negatives (B, d) row-major. Returns Σ loss and the three gradients (B, d).
public func bprLoss(
    anchors: [Float], positives: [Float], negatives: [Float], dim d: Int
) -> (lossSum: Double, anchors: [Float], positives: [Float], negatives: [Float]) {
    precondition(d > 0 && anchors.count % d == 0, "BPR rows are not of dim \(d)")
    precondition(positives.count == anchors.count && negatives.count == anchors.count,
                 "BPR needs one positive and one negative per anchor")
    let B = anchors.count / d
    var du = [Float](repeating: 0, count: B * d), dp = du, dn = du
    if B == 0 { return (0, du, dp, dn) }
    let loss = anchors.withUnsafeBufferPointer { a in
        positives.withUnsafeBufferPointer { p in
            negatives.withUnsafeBufferPointer { n in
                du.withUnsafeMutableBufferPointer { ga in
                    dp.withUnsafeMutableBufferPointer { gp in
                        dn.withUnsafeMutableBufferPointer { gn in
                            bprForwardBackward(u: a.baseAddress!, p: p.baseAddress!, n: n.baseAddress!, batch: B,
                                               dim: d, positiveIds: nil, negativeIds: nil,
                                               du: ga.baseAddress!, dp: gp.baseAddress!, dn: gn.baseAddress!)
                        }
                    }
                }
            }
        }
    }
    return (loss, du, dp, dn)
}
