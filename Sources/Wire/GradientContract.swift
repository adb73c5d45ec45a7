import RunSettings

/// What the coordinator accepts as the GRADIENT of one task, derived from the task and the run's spec before the
/// answer arrives: `examples` equal to the task's pair count, user rows only of the task's users, item rows only of
/// the items its loss trains (its positives, and its negatives when they are live), each row once, every value
/// finite and within `maxAbs`, and a loss sum within what the loss can produce.
public struct GradientContract: Sendable, Equatable {
    public var pairs: Int
    /// The task's users, ascending, without repeats.
    public var users: [UInt32]
    /// The items whose rows the task's gradient may hold, ascending, without repeats.
    public var items: [UInt32]
    public var dim: Int
    /// The largest magnitude of a gradient value.
    public var maxAbs: Float
    /// The loss sums the loss can produce for `pairs` pairs (with a margin for rounding).
    public var lossSum: ClosedRange<Double>

    public init(pairs: Int, users: [UInt32], items: [UInt32], dim: Int, maxAbs: Float, lossSum: ClosedRange<Double>) {
        self.pairs = pairs
        self.users = Array(Set(users)).sorted()
        self.items = Array(Set(items)).sorted()
        self.dim = dim
        self.maxAbs = maxAbs
        self.lossSum = lossSum
    }

    /// The first rule `gradient` breaks, or nil.
    public func refusal(of gradient: Gradient) -> Refusal? {
        guard Int(gradient.examples) == pairs else {
            return .invalid("gradient_examples", "gradient of (\(gradient.epoch), \(gradient.minibatch)) counts \(gradient.examples) examples; the task has \(pairs) pairs")
        }
        guard gradient.lossSum.isFinite else {
            return .invalid("gradient_loss_not_finite", "gradient of (\(gradient.epoch), \(gradient.minibatch)) has loss sum \(gradient.lossSum)")
        }
        guard lossSum.contains(gradient.lossSum) else {
            return .invalid("gradient_loss_range", "gradient of (\(gradient.epoch), \(gradient.minibatch)) has loss sum \(gradient.lossSum); this loss gives \(lossSum.lowerBound) … \(lossSum.upperBound) for \(pairs) pairs")
        }
        do {
            try gradient.users.validate(rowLimit: 1 << 32, dim: dim, "gradient users", maxAbs: maxAbs)
            try gradient.items.validate(rowLimit: 1 << 32, dim: dim, "gradient items", maxAbs: maxAbs)
        } catch { return error }
        if let stranger = Self.firstOutside(gradient.users.ids, allowed: users) {
            return .invalid("gradient_foreign_user", "gradient of (\(gradient.epoch), \(gradient.minibatch)) holds user \(stranger), who is not in the task")
        }
        if let stranger = Self.firstOutside(gradient.items.ids, allowed: items) {
            return .invalid("gradient_foreign_item", "gradient of (\(gradient.epoch), \(gradient.minibatch)) holds item \(stranger), which the task's loss does not train")
        }
        return nil
    }

    /// The first id not in `allowed` (ascending), or nil.
    static func firstOutside(_ ids: [UInt32], allowed: [UInt32]) -> UInt32? {
        // Ascending ids (as senders list them): one walk along both lists.
        if ids.isStrictlyAscending {
            var a = 0
            for id in ids {
                while a < allowed.count && allowed[a] < id { a += 1 }
                if a == allowed.count || allowed[a] != id { return id }
            }
            return nil
        }
        for id in ids {
            var low = 0, high = allowed.count
            while low < high {
                let mid = (low + high) / 2
                if allowed[mid] < id { low = mid + 1 } else { high = mid }
            }
            if low == allowed.count || allowed[low] != id { return id }
        }
        return nil
    }
}

extension TrainingSpec {
    /// The gradient contract of a task of `users` and `positives`, whose loss also trains `negatives` (the live
    /// negatives or BPR's; empty when the negatives are constant bank rows). `similarityScale` bounds the
    /// derivative of one similarity w.r.t. one row of the task: the largest norm among the rows it is compared
    /// with (dot), or one over the smallest norm among the rows that get gradients (cosine).
    public func gradientContract(users: [UInt32], positives: [UInt32], trainedNegatives: [UInt32],
                                 similarityScale: Float) -> GradientContract {
        GradientContract(pairs: users.count, users: users, items: positives + trainedNegatives, dim: dim,
                         maxAbs: maxGradientValue(pairs: users.count, similarityScale: similarityScale),
                         lossSum: lossSumRange(pairs: users.count))
    }

    /// Whether the loss compares rows by cosine (else by dot product: MNR and BPR always).
    public var comparesByCosine: Bool { loss.effectiveSimilarity == .cosine }

    /// The largest magnitude an honest gradient value can have: a row's gradient is Σ over the task's logits of
    /// dLoss/ds · ds/drow, and Σ |dLoss/ds| over a pair's logits is at most 2/τ (+ 1/τ⁺ bilateral; 1 + w for CCL,
    /// 2 for BPR), while |ds/drow| ≤ `similarityScale`. 5 % is added for rounding.
    public func maxGradientValue(pairs: Int, similarityScale: Float) -> Float {
        let perPair: Float = switch loss.kind {
        case .bpr: 2
        case .ccl: 1 + loss.cclNegativeWeight
        default: 2 / loss.temperature + (loss.positiveTemperature.map { 1 / $0 } ?? 0)
        }
        let bound = Float(max(pairs, 1)) * perPair * similarityScale * 1.05 + 1e-6
        return bound.isFinite ? bound : .greatestFiniteMagnitude
    }

    /// The loss sums that `pairs` pairs can give, with a margin of 10⁻³ per pair for rounding: a softmax
    /// cross-entropy is ≥ 0, BPR's softplus ≥ 0 and CCL's hinges ≥ 0; with cosine similarity (|s| ≤ 1) and no logQ
    /// shift, the softmax losses are also bounded above by 2/τ + log(columns) (the bilateral loss by
    /// 1/τ⁺ + 1/τ + log(columns), and below by −1/τ⁺ − 1/τ), and CCL by 2 + 2w.
    public func lossSumRange(pairs: Int) -> ClosedRange<Double> {
        let n = Double(pairs)
        let slack = 1e-3 * n + 1e-6
        let tau = Double(loss.temperature)
        let cosine = comparesByCosine
        let columns = Double(loss.negatives + pairs + 1)
        switch loss.kind {
        case .bpr:
            return -slack ... .greatestFiniteMagnitude
        case .ccl:
            return -slack ... n * (2 + 2 * Double(loss.cclNegativeWeight)) + slack
        default:
            let bounded = cosine && !loss.logQCorrection
            if let positive = loss.positiveTemperature.map(Double.init) {
                guard bounded else { return -Double.greatestFiniteMagnitude ... .greatestFiniteMagnitude }
                let reach = 1 / positive + 1 / tau
                return -n * reach - slack ... n * (reach + log(columns)) + slack
            }
            return -slack ... (bounded ? n * (2 / tau + log(columns)) + slack : .greatestFiniteMagnitude)
        }
    }
}

/// Natural logarithm without Foundation (Wire has no dependencies): ln x = 2 atanh((x − 1)/(x + 1)) after scaling
/// x into [1, 2) by powers of two; accurate to about 1e-12, enough for a bound.
func log(_ x: Double) -> Double {
    precondition(x > 0, "log of \(x)")
    var m = x, e = 0.0
    while m >= 2 { m /= 2; e += 1 }
    while m < 1 { m *= 2; e -= 1 }
    let y = (m - 1) / (m + 1), y2 = y * y
    var term = y, sum = 0.0
    for k in stride(from: 1.0, through: 61, by: 2) {
        sum += term / k
        term *= y2
    }
    return 2 * sum + e * 0.693_147_180_559_945_3
}
