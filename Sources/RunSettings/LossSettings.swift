/// Everything that defines the loss of a minibatch, and the rules of each loss: which read bank negatives, which
/// similarity and temperature the kernels use, what a spec carries on the wire. Both roles and the wire read them
/// from here.
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
    /// The K sampled negatives are read from the memory bank, as in the bank losses, but their gradients go into
    /// the live item rows: the bank as a stale read of the item table. A STEP's bank row is then the bank's
    /// direction at the live row's length (`TrainingState.bankRowsAtLiveLength`), and the bank follows every item
    /// row that gets a gradient, not only the positives. Excludes `liveNegatives`.
    public var trainedBankNegatives: Bool
    /// M, hard negatives per pair (0: none): each pair also scores, beside the K shared negatives, the M items of
    /// the minibatch's hard-negative pool (`hardNegativePool` items drawn uniformly) that are closest to its user on
    /// the memory bank, the user's own training items left out. They are read like trained bank negatives (the
    /// bank's direction at the live row's length) and their gradients go into the live item rows. Needs the bank
    /// InfoNCE loss with negatives that get gradients (`trainsNegatives`).
    public var hardNegatives: Int
    /// C, the items drawn per minibatch among which each pair's hard negatives are chosen (0 when there are none).
    public var hardNegativePool: Int
    /// S, the closest pool items each pair passes over before it takes its M hard negatives (0: none passed over):
    /// the very closest unseen items are the likeliest to be items the user would choose.
    public var hardNegativeSkip: Int
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
        temperature: Float = RunDefaults.temperature,
        negatives: Int = RunDefaults.negatives,
        removeAccidentalHits: Bool = true,
        logQCorrection: Bool = false,
        mixInBatch: Bool = false,
        liveNegatives: Bool = false,
        positiveTemperature: Float? = nil,
        cclMargin: Float = RunDefaults.cclMargin,
        cclNegativeWeight: Float = RunDefaults.cclNegativeWeight,
        maskSeenItems: Bool = false,
        trainedBankNegatives: Bool = false,
        hardNegatives: Int = 0,
        hardNegativePool: Int = 0,
        hardNegativeSkip: Int = 0
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
        self.trainedBankNegatives = trainedBankNegatives
        self.hardNegatives = hardNegatives
        self.hardNegativePool = hardNegativePool
        self.hardNegativeSkip = hardNegativeSkip
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

    /// Whether the sampled negatives get gradients into the live item rows: live negatives, and bank negatives
    /// read as a stale copy of the item table (`trainedBankNegatives`).
    public var trainsNegatives: Bool { usesBankNegatives && (liveNegatives || trainedBankNegatives) }

    /// Whether each pair also gets hard negatives mined from the bank (`hardNegatives`).
    public var minesHardNegatives: Bool { hardNegatives > 0 }

    /// Whether a STEP's bank rows are read as stale item rows, the bank's direction at the live row's length
    /// (trained bank negatives, the hard-negative pool), rather than as the bank stores them.
    public var readsBankAtLiveLength: Bool { trainedBankNegatives || minesHardNegatives }

    /// Whether the workers need every user's training items: to mask them among the negatives, or to leave them
    /// out of the hard negatives.
    public var needsSeenItems: Bool { maskSeenItems || minesHardNegatives }

    /// How many negatives a minibatch of `pairs` pairs draws: K for the losses that read bank negatives, one live
    /// item per pair for BPR, none for pure in-batch losses.
    public func negativesDrawn(pairs: Int) -> Int {
        usesBankNegatives ? negatives : kind == .bpr ? pairs : 0
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

    /// The temperature a loss starts from when none is asked for: 1 for MNR (a dot product of raw scores),
    /// `RunDefaults.temperature` for the others.
    public static func defaultTemperature(for kind: LossKind) -> Float {
        kind == .mnr ? 1 : RunDefaults.temperature
    }

    /// Whether the loss has a softmax whose positive may take its own temperature τ⁺.
    public var takesPositiveTemperature: Bool { kind != .bpr && kind != .ccl }

    /// These settings as a spec carries them: τ⁺ only for the softmax losses, the hard-negative pool and skip only with
    /// hard negatives, the CCL margin and weight only for CCL (the defaults otherwise), so that what a worker decodes equals what the coordinator sent.
    public var canonical: LossSettings {
        var c = self
        if !takesPositiveTemperature { c.positiveTemperature = nil }
        if hardNegatives == 0 {
            c.hardNegativePool = 0
            c.hardNegativeSkip = 0
        }
        if kind != .ccl {
            c.cclMargin = RunDefaults.cclMargin
            c.cclNegativeWeight = RunDefaults.cclNegativeWeight
        }
        return c
    }
}
