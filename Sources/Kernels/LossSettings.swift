/// Which training loss a minibatch is scored with. Raw values are stable (they cross the network and checkpoints).
public enum LossKind: UInt8, Sendable, CaseIterable {
    /// InfoNCE of each (user, positive) pair against K negatives drawn from the item memory bank.
    case bankInfoNCE = 0
    /// InfoNCE of each user against every positive item of the minibatch (the other positives are the negatives).
    case inBatchInfoNCE = 1
    /// Multiple negatives ranking: in-batch softmax with the dot product (the similarity setting is ignored).
    case mnr = 2
    /// Bayesian personalised ranking: softplus(<u,n> − <u,p>) with one live-table negative per pair, dot product.
    case bpr = 3
    /// Cosine contrastive loss (SimpleX's CCL) against K bank negatives: max(0, 1 − cos(u, p)) +
    /// (w / K') Σ_k max(0, cos(u, n_k) − m) over the K' negatives left after accidental hits.
    case ccl = 4
}

/// How a user row is compared with an item row.
public enum Similarity: UInt8, Sendable {
    case cosine = 0
    case dot = 1
}

/// Everything that defines the loss of a minibatch.
public struct LossSettings: Sendable, Equatable {
    public var kind: LossKind
    public var similarity: Similarity
    /// τ: logits are similarities divided by it (softmax losses only).
    public var temperature: Float
    /// K, the number of bank negatives shared by a minibatch.
    public var negatives: Int
    /// Removes a negative whose item id equals the row's positive item id (logit −∞).
    public var removeAccidentalHits: Bool
    /// Also removes every negative that the row's user has in the training data (`SeenItems`, which the
    /// gradient computer then needs); implies `removeAccidentalHits`.
    public var maskSeenItems: Bool
    /// Subtracts log(K·q_k) from bank negative k's logit, q_k being its sampling probability.
    public var logQCorrection: Bool
    /// In-batch InfoNCE also scores against the K bank negatives (extra constant columns).
    public var mixInBatch: Bool
    /// The K sampled negatives are read from the live item table and get gradients (sampled softmax) instead of
    /// being constant memory-bank rows.
    public var liveNegatives: Bool
    /// τ⁺, a separate temperature of the positive (bilateral softmax loss, BSL): when set, a row's loss is
    /// −s⁺/τ⁺ + log Σ_negatives exp(s/τ), the positive outside the sum; nil: plain InfoNCE.
    public var positiveTemperature: Float?
    /// CCL: margin m of the negative term (negatives with cosine above it are pushed down).
    public var cclMargin: Float
    /// CCL: weight w of the mean negative term.
    public var cclNegativeWeight: Float

    public init(
        kind: LossKind = .bankInfoNCE,
        similarity: Similarity = .cosine,
        temperature: Float = 0.1,
        negatives: Int = 1024,
        removeAccidentalHits: Bool = true,
        logQCorrection: Bool = false,
        mixInBatch: Bool = false,
        liveNegatives: Bool = false,
        positiveTemperature: Float? = nil,
        cclMargin: Float = 0.9,
        cclNegativeWeight: Float = 150,
        maskSeenItems: Bool = false
    ) {
        self.kind = kind
        self.similarity = similarity
        self.temperature = temperature
        self.negatives = negatives
        self.removeAccidentalHits = removeAccidentalHits
        self.maskSeenItems = maskSeenItems
        self.logQCorrection = logQCorrection
        self.mixInBatch = mixInBatch
        self.liveNegatives = liveNegatives
        self.positiveTemperature = positiveTemperature
        self.cclMargin = cclMargin
        self.cclNegativeWeight = cclNegativeWeight
    }

    /// Whether `compute` reads K bank negatives for this loss.
    public var usesBankNegatives: Bool {
        switch kind {
        case .bankInfoNCE, .ccl: return true
        case .inBatchInfoNCE: return mixInBatch
        case .mnr, .bpr: return false
        }
    }

    /// The similarity the kernels actually use (MNR and BPR are dot-product losses, CCL a cosine one).
    public var effectiveSimilarity: Similarity {
        switch kind {
        case .bankInfoNCE, .inBatchInfoNCE: return similarity
        case .mnr, .bpr: return .dot
        case .ccl: return .cosine
        }
    }

    /// The temperature the kernels actually use (BPR and CCL have none).
    public var effectiveTemperature: Float { kind == .bpr || kind == .ccl ? 1 : temperature }

    /// Whether negatives that are the row's positive are removed (by either setting).
    public var masksAccidentalHits: Bool { removeAccidentalHits || maskSeenItems }

    /// Whether the loss scores each pair against the minibatch's other positives.
    public var isInBatch: Bool { kind == .inBatchInfoNCE || kind == .mnr }
}
