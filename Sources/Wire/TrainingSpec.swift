/// What every worker must agree on to compute gradients: table shapes, loss, sampler and their settings.
///
/// Wire form (inside WELCOME): u32 users, u32 items, u32 dim, u8 loss, u8 similarity, u8 sampler, u8 flags,
/// f32 temperature, [f32 positiveTemperature when flag bit 5 is set], [f32 cclMargin, f32 cclNegativeWeight when
/// loss is 4 (CCL)], u32 negatives, f32 popularityAlpha, u64 seed, u32 popularityCount, popularityCount × f32.
public struct TrainingSpec: Equatable, Sendable {
    // Codes of `loss`.
    public static let lossBankInfoNCE: UInt8 = 0
    public static let lossInBatchInfoNCE: UInt8 = 1
    public static let lossMNR: UInt8 = 2
    public static let lossBPR: UInt8 = 3
    public static let lossCCL: UInt8 = 4
    // Codes of `similarity`.
    public static let similarityCosine: UInt8 = 0
    public static let similarityDot: UInt8 = 1
    // Codes of `sampler`.
    public static let samplerUniform: UInt8 = 0
    public static let samplerPopularity: UInt8 = 1

    public var users: Int
    public var items: Int
    public var dim: Int
    public var loss: UInt8
    public var similarity: UInt8
    public var sampler: UInt8
    public var logQCorrection: Bool
    public var mixInBatch: Bool
    public var removeAccidentalHits: Bool
    public var verifyReplicas: Bool
    /// Negatives are read from the live item table and receive gradients (sampled softmax), instead of being
    /// constant memory-bank rows.
    public var liveNegatives: Bool
    public var temperature: Float
    /// τ⁺ of the bilateral softmax loss; nil for plain InfoNCE.
    public var positiveTemperature: Float?
    /// CCL (loss 4): the margin and weight of the negative term; (0, 0) for other losses.
    public var cclMargin: Float
    public var cclNegativeWeight: Float
    public var negatives: Int
    public var popularityAlpha: Float
    public var seed: UInt64
    /// Item training counts (items) for the popularity sampler; empty for the uniform sampler.
    public var popularity: [Float]
    /// Masking of every negative that the row's user has in the training data: per user (users) the number of
    /// its training items, and those items, each user's ascending without repeats. Empty when off.
    public var maskSeenItems: Bool
    public var seenCounts: [UInt32]
    public var seenItems: [UInt32]

    public init(
        users: Int, items: Int, dim: Int, loss: UInt8, similarity: UInt8, sampler: UInt8,
        logQCorrection: Bool = false, mixInBatch: Bool = false, removeAccidentalHits: Bool = false,
        verifyReplicas: Bool = false, liveNegatives: Bool = false, temperature: Float,
        positiveTemperature: Float? = nil, cclMargin: Float = 0, cclNegativeWeight: Float = 0, negatives: Int,
        popularityAlpha: Float, seed: UInt64, popularity: [Float] = [], maskSeenItems: Bool = false,
        seenCounts: [UInt32] = [], seenItems: [UInt32] = []
    ) {
        self.users = users
        self.items = items
        self.dim = dim
        self.loss = loss
        self.similarity = similarity
        self.sampler = sampler
        self.logQCorrection = logQCorrection
        self.mixInBatch = mixInBatch
        self.removeAccidentalHits = removeAccidentalHits
        self.verifyReplicas = verifyReplicas
        self.liveNegatives = liveNegatives
        self.temperature = temperature
        self.positiveTemperature = positiveTemperature
        self.cclMargin = cclMargin
        self.cclNegativeWeight = cclNegativeWeight
        self.negatives = negatives
        self.popularityAlpha = popularityAlpha
        self.seed = seed
        self.popularity = popularity
        self.maskSeenItems = maskSeenItems
        self.seenCounts = maskSeenItems ? seenCounts : []
        self.seenItems = maskSeenItems ? seenItems : []
    }
}

extension TrainingSpec {
    static let flagLogQCorrection: UInt8 = 1 << 0
    static let flagMixInBatch: UInt8 = 1 << 1
    static let flagRemoveAccidentalHits: UInt8 = 1 << 2
    static let flagVerifyReplicas: UInt8 = 1 << 3
    static let flagLiveNegatives: UInt8 = 1 << 4
    static let flagPositiveTemperature: UInt8 = 1 << 5
    static let flagMaskSeenItems: UInt8 = 1 << 6
    static let knownFlags: UInt8 = 0x7F

    func write(to w: inout ByteWriter) {
        w.u32(users, "spec users")
        w.u32(items, "spec items")
        w.u32(dim, "spec dim")
        w.u8(loss)
        w.u8(similarity)
        w.u8(sampler)
        var flags: UInt8 = 0
        if logQCorrection { flags |= Self.flagLogQCorrection }
        if mixInBatch { flags |= Self.flagMixInBatch }
        if removeAccidentalHits { flags |= Self.flagRemoveAccidentalHits }
        if verifyReplicas { flags |= Self.flagVerifyReplicas }
        if liveNegatives { flags |= Self.flagLiveNegatives }
        if positiveTemperature != nil { flags |= Self.flagPositiveTemperature }
        if maskSeenItems { flags |= Self.flagMaskSeenItems }
        w.u8(flags)
        w.f32(temperature)
        if let positiveTemperature { w.f32(positiveTemperature) }
        if loss == Self.lossCCL {
            w.f32(cclMargin)
            w.f32(cclNegativeWeight)
        }
        w.u32(negatives, "spec negatives")
        w.f32(popularityAlpha)
        w.u64(seed)
        w.u32(popularity.count, "spec popularity count")
        w.f32s(popularity)
        if maskSeenItems {
            precondition(seenCounts.count == users, "spec: \(seenCounts.count) seen-item counts for \(users) users")
            w.u32s(seenCounts)
            w.u32(seenItems.count, "spec seen items")
            w.u32s(seenItems)
        }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> TrainingSpec {
        let users = try r.count("spec users")
        let items = try r.count("spec items")
        let dim = try r.count("spec dim")
        let loss = try r.u8("spec loss")
        let similarity = try r.u8("spec similarity")
        let sampler = try r.u8("spec sampler")
        let flags = try r.u8("spec flags")
        guard loss <= lossCCL else { throw .invalid("spec loss code \(loss)") }
        guard similarity <= similarityDot else { throw .invalid("spec similarity code \(similarity)") }
        guard sampler <= samplerPopularity else { throw .invalid("spec sampler code \(sampler)") }
        guard flags & ~knownFlags == 0 else { throw .invalid("spec flags 0x\(hex(flags, width: 2)) has unknown bits") }
        let temperature = try r.f32("spec temperature")
        let positiveTemperature = flags & flagPositiveTemperature != 0 ? try r.f32("spec positive temperature") : nil
        if let positiveTemperature, !(positiveTemperature > 0 && positiveTemperature.isFinite) {
            throw .invalid("spec positive temperature \(positiveTemperature) is not a positive number")
        }
        var ccl: (margin: Float, weight: Float) = (0, 0)
        if loss == lossCCL {
            ccl = (try r.f32("spec CCL margin"), try r.f32("spec CCL negative weight"))
            guard ccl.margin > -1 && ccl.margin < 1, ccl.weight >= 0 && ccl.weight.isFinite else {
                throw .invalid("spec CCL margin \(ccl.margin) (must be in (−1, 1)) or weight \(ccl.weight) (must be ≥ 0)")
            }
        }
        let negatives = try r.count("spec negatives")
        let popularityAlpha = try r.f32("spec popularityAlpha")
        let seed = try r.u64("spec seed")
        let popularityCount = try r.count("spec popularity count")
        guard popularityCount == 0 || popularityCount == items else {
            throw .invalid("spec popularity has \(popularityCount) entries for \(items) items")
        }
        let popularity = try r.f32s(popularityCount, "spec popularity")
        let maskSeenItems = flags & flagMaskSeenItems != 0
        var seen: (counts: [UInt32], items: [UInt32]) = ([], [])
        if maskSeenItems {
            let counts = try r.u32s(users, "spec seen-item counts")
            let total = try r.count("spec seen items")
            let sum = counts.reduce(0) { $0 + Int($1) }
            guard sum == total else { throw .invalid("spec seen-item counts add up to \(sum), not \(total)") }
            seen = (counts, try r.u32s(total, "spec seen items"))
        }
        return TrainingSpec(
            users: users, items: items, dim: dim, loss: loss, similarity: similarity, sampler: sampler,
            logQCorrection: flags & flagLogQCorrection != 0, mixInBatch: flags & flagMixInBatch != 0,
            removeAccidentalHits: flags & flagRemoveAccidentalHits != 0, verifyReplicas: flags & flagVerifyReplicas != 0,
            liveNegatives: flags & flagLiveNegatives != 0, temperature: temperature,
            positiveTemperature: positiveTemperature, cclMargin: ccl.margin, cclNegativeWeight: ccl.weight,
            negatives: negatives, popularityAlpha: popularityAlpha, seed: seed,
            popularity: popularity, maskSeenItems: maskSeenItems, seenCounts: seen.counts, seenItems: seen.items)
    }
}
