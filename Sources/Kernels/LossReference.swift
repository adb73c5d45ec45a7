import Foundation
import RunSettings

/// Naive float64 implementations of the losses, written with plain loops straight from the formulas. The tests
/// compare the BLAS kernels with these and check these against golden files and finite differences.
///
/// Gradients are per input row (not coalesced) and of the SUM of the per-pair losses.
public enum LossReference {
    public struct Result: Sendable {
        public var lossSum: Double
        /// d(lossSum)/d(users[b]) (B × d)
        public var users: [[Double]]
        /// d(lossSum)/d(positives[b]) (B × d)
        public var positives: [[Double]]
        /// d(lossSum)/d(negatives[k]) (K × d); the kernels treat bank rows as constants and ignore these
        public var negatives: [[Double]]
        /// d(lossSum)/d(rowNegatives[b][m]) (B lists of the row's own negatives, each M_b × d); empty without them.
        public var rowNegatives: [[[Double]]] = []

        /// No loss and zero gradients shaped like the inputs (one positive per user).
        static func zero(users: [[Double]], positives: [[Double]], negatives: [[Double]]) -> Result {
            precondition(positives.count == users.count, "one positive per user")
            let d = users.first?.count ?? 0
            return Result(lossSum: 0, users: zeros(users.count, d), positives: zeros(users.count, d),
                          negatives: zeros(negatives.count, d))
        }
    }

    /// Softmax contrastive loss: for each b, logits over [positive(s) | negatives] / τ, cross-entropy.
    ///
    /// users (B × d) queries, positives (B × d), negatives (K × d). inBatch: the positives block is every
    /// positive of the batch with target b, else only the row's own positive with target 0.
    /// positiveIds (B), negativeIds (K): accidental hits removed when given (see `contrastiveSoftmaxForwardBackward`).
    /// rowSeenItems (B lists), with positiveIds: a column whose item is in row b's list is removed from row b too.
    /// negativeLogitOffset (K): subtracted from negative logit k.
    /// positiveTemperature τ⁺ (BSL): the row's loss is −sim(target)/τ⁺ + log Σ_{c ≠ target} exp(logit_c),
    /// 0 for the sum when every other column is masked.
    /// rowNegatives (B lists): row b's own further negatives (hard negatives), columns after the K shared ones,
    /// never masked or offset.
    public static func contrastive(
        users: [[Double]], positives: [[Double]], negatives: [[Double]], similarity: Similarity,
        temperature: Double, inBatch: Bool, positiveIds: [UInt32]? = nil, negativeIds: [UInt32]? = nil,
        negativeLogitOffset: [Double]? = nil, positiveTemperature: Double? = nil, rowSeenItems: [[UInt32]]? = nil,
        rowNegatives: [[[Double]]]? = nil
    ) -> Result {
        var result = Result.zero(users: users, positives: positives, negatives: negatives)
        let B = users.count, K = negatives.count, d = users.first?.count ?? 0
        if let rowNegatives { result.rowNegatives = rowNegatives.map { zeros($0.count, d) } }
        for b in 0 ..< B {
            // columns: (isNegative, index); the row's own negatives are the columns from `ownFrom` on
            var columns: [(negative: Bool, index: Int)] = []
            if inBatch { for j in 0 ..< B { columns.append((false, j)) } } else { columns.append((false, b)) }
            for k in 0 ..< K { columns.append((true, k)) }
            let ownFrom = columns.count
            let own = rowNegatives?[b] ?? []
            for m in own.indices { columns.append((true, m)) }
            let target = inBatch ? b : 0
            var logits = [Double](repeating: 0, count: columns.count)
            for (c, col) in columns.enumerated() where c >= ownFrom {
                logits[c] = similarityValue(users[b], own[col.index], similarity) / temperature
            }
            for (c, col) in columns.enumerated() where c < ownFrom {
                let other = col.negative ? negatives[col.index] : positives[col.index]
                logits[c] = similarityValue(users[b], other, similarity) / temperature
                if col.negative, let offsets = negativeLogitOffset { logits[c] -= offsets[col.index] }
                if let pid = positiveIds {
                    let masked = { (id: UInt32) in id == pid[b] || rowSeenItems?[b].contains(id) == true }
                    if col.negative, let nid = negativeIds, masked(nid[col.index]) { logits[c] = -.infinity }
                    if !col.negative, col.index != b, masked(pid[col.index]) { logits[c] = -.infinity }
                }
            }
            // dSims[c]: d(loss_b)/d(similarity of column c)
            var dSims = [Double](repeating: 0, count: columns.count)
            if let tauPlus = positiveTemperature {
                let others = logits.indices.filter { $0 != target && logits[$0] > -.infinity }
                result.lossSum -= logits[target] * temperature / tauPlus
                dSims[target] = -1 / tauPlus
                if let mx = others.map({ logits[$0] }).max() {
                    let z = others.map { exp(logits[$0] - mx) }.reduce(0, +)
                    result.lossSum += mx + log(z)
                    for c in others { dSims[c] = exp(logits[c] - mx) / z / temperature }
                }
            } else {
                let mx = logits.max()!
                var z = 0.0
                for l in logits { z += exp(l - mx) }
                result.lossSum += (mx + log(z)) - logits[target]
                for c in columns.indices { dSims[c] = (exp(logits[c] - mx) / z - (c == target ? 1 : 0)) / temperature }
            }
            for (c, col) in columns.enumerated() {
                let dSim = dSims[c]
                if dSim == 0 { continue }
                let other = c >= ownFrom ? own[col.index] : col.negative ? negatives[col.index] : positives[col.index]
                let (du, dv) = similarityGradient(users[b], other, similarity)
                for j in 0 ..< d {
                    result.users[b][j] += dSim * du[j]
                    if c >= ownFrom {
                        result.rowNegatives[b][col.index][j] += dSim * dv[j]
                    } else if col.negative {
                        result.negatives[col.index][j] += dSim * dv[j]
                    } else {
                        result.positives[col.index][j] += dSim * dv[j]
                    }
                }
            }
        }
        return result
    }

    /// Cosine contrastive loss: Σ_b max(0, 1 − cos(u_b, p_b)) + (w / K_b) Σ_k max(0, cos(u_b, n_k) − m), over the
    /// K_b negatives whose id differs from the row's positive id and is not in rowSeenItems[b] (all K without ids).
    public static func ccl(
        users: [[Double]], positives: [[Double]], negatives: [[Double]], margin: Double, weight: Double,
        positiveIds: [UInt32]? = nil, negativeIds: [UInt32]? = nil, rowSeenItems: [[UInt32]]? = nil
    ) -> Result {
        var result = Result.zero(users: users, positives: positives, negatives: negatives)
        let B = users.count, K = negatives.count, d = users.first?.count ?? 0
        for b in 0 ..< B {
            let kept = (0 ..< K).filter { k in
                guard let pid = positiveIds, let nid = negativeIds else { return true }
                return nid[k] != pid[b] && rowSeenItems?[b].contains(nid[k]) != true
            }
            let positive = similarityValue(users[b], positives[b], .cosine)
            if positive < 1 {
                result.lossSum += 1 - positive
                let (du, dv) = similarityGradient(users[b], positives[b], .cosine)
                for j in 0 ..< d {
                    result.users[b][j] -= du[j]
                    result.positives[b][j] -= dv[j]
                }
            }
            let share = kept.isEmpty ? 0 : weight / Double(kept.count)
            for k in kept {
                let s = similarityValue(users[b], negatives[k], .cosine)
                guard s > margin else { continue }
                result.lossSum += share * (s - margin)
                let (du, dv) = similarityGradient(users[b], negatives[k], .cosine)
                for j in 0 ..< d {
                    result.users[b][j] += share * du[j]
                    result.negatives[k][j] += share * dv[j]
                }
            }
        }
        return result
    }

    /// BPR: Σ_b softplus(<u_b, n_b> − <u_b, p_b>); a triple with positiveIds[b] == negativeIds[b], or with its
    /// negative in rowSeenItems[b], is skipped.
    public static func bpr(
        users: [[Double]], positives: [[Double]], negatives: [[Double]],
        positiveIds: [UInt32]? = nil, negativeIds: [UInt32]? = nil, rowSeenItems: [[UInt32]]? = nil
    ) -> Result {
        let B = users.count
        let d = users.first?.count ?? 0
        var result = Result(lossSum: 0, users: zeros(B, d), positives: zeros(B, d), negatives: zeros(B, d))
        for b in 0 ..< B {
            if let pid = positiveIds, let nid = negativeIds,
               pid[b] == nid[b] || rowSeenItems?[b].contains(nid[b]) == true { continue }
            let x = dot(users[b], negatives[b]) - dot(users[b], positives[b])
            result.lossSum += log(1 + exp(x))
            let s = 1 / (1 + exp(-x))
            for j in 0 ..< d {
                result.users[b][j] = s * (negatives[b][j] - positives[b][j])
                result.positives[b][j] = -s * users[b][j]
                result.negatives[b][j] = s * users[b][j]
            }
        }
        return result
    }

    /// Momentum update of one bank row: normalize(m·bank + (1−m)·normalize(item)).
    public static func momentumUpdate(bank: [Double], item: [Double], momentum m: Double) -> [Double] {
        let v = normalized(item)
        return normalized(zip(bank, v).map { m * $0 + (1 - m) * $1 })
    }

    public static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for j in a.indices { s += a[j] * b[j] }
        return s
    }

    public static func normalized(_ a: [Double]) -> [Double] {
        let n = dot(a, a).squareRoot()
        return a.map { $0 / n }
    }

    static func similarityValue(_ u: [Double], _ v: [Double], _ similarity: Similarity) -> Double {
        switch similarity {
        case .dot: return dot(u, v)
        case .cosine: return dot(u, v) / (dot(u, u).squareRoot() * dot(v, v).squareRoot())
        }
    }

    /// (d s/du, d s/dv). For cosine: d cos/du = v/(‖u‖‖v‖) − cos·u/‖u‖².
    static func similarityGradient(_ u: [Double], _ v: [Double], _ similarity: Similarity) -> ([Double], [Double]) {
        switch similarity {
        case .dot: return (v, u)
        case .cosine:
            let nu = dot(u, u).squareRoot(), nv = dot(v, v).squareRoot()
            let c = dot(u, v) / (nu * nv)
            let du = u.indices.map { v[$0] / (nu * nv) - c * u[$0] / (nu * nu) }
            let dv = u.indices.map { u[$0] / (nu * nv) - c * v[$0] / (nv * nv) }
            return (du, dv)
        }
    }

    static func zeros(_ rows: Int, _ cols: Int) -> [[Double]] {
        [[Double]](repeating: [Double](repeating: 0, count: cols), count: rows)
    }
}
