import RunSettings

/// What every worker must agree on to compute gradients: table shapes, the loss and the sampler with their settings.
/// The loss is the `LossSettings` value itself (in its `canonical` form), so what a worker decodes is what the
/// coordinator resolved.
///
/// Wire form (inside WELCOME): u32 users, u32 items, u32 dim, u8 loss (`LossKind`), u8 similarity (`Similarity`),
/// u8 sampler (`SamplerKind`), u8 flags, f32 temperature, [f32 positiveTemperature when flag bit 5 is set],
/// [f32 cclMargin, f32 cclNegativeWeight when loss is 4 (CCL)], u32 negatives, u32 hardNegatives,
/// u32 hardNegativePool, u32 hardNegativeSkip, f32 popularityAlpha, u64 seed, u32 popularityCount, popularityCount × f32, [users × u32
/// seen-item counts, u32 seen-item total, total × u32 seen items when flag bit 6 is set or hardNegatives > 0].
public struct TrainingSpec: Equatable, Sendable {
    public var users: Int
    public var items: Int
    public var dim: Int
    /// The loss of every minibatch (`maskSeenItems` included; τ⁺ only for the softmax losses, the CCL terms only
    /// for CCL).
    public var loss: LossSettings {
        didSet { loss = loss.canonical }
    }
    public var sampler: SamplerKind
    public var verifyReplicas: Bool
    public var popularityAlpha: Float
    public var seed: UInt64
    /// Item training counts (items) for the popularity sampler; empty for the uniform sampler.
    public var popularity: [Float]
    /// With `loss.needsSeenItems` (masked seen items, hard negatives): per user (users) the number of its training items, and those items, each user's
    /// ascending without repeats. Empty when off.
    public var seenCounts: [UInt32]
    public var seenItems: [UInt32]

    public init(
        users: Int, items: Int, dim: Int, loss: LossSettings, sampler: SamplerKind, verifyReplicas: Bool = false,
        popularityAlpha: Float, seed: UInt64, popularity: [Float] = [], seenCounts: [UInt32] = [],
        seenItems: [UInt32] = []
    ) {
        self.users = users
        self.items = items
        self.dim = dim
        self.loss = loss.canonical
        self.sampler = sampler
        self.verifyReplicas = verifyReplicas
        self.popularityAlpha = popularityAlpha
        self.seed = seed
        self.popularity = popularity
        self.seenCounts = loss.needsSeenItems ? seenCounts : []
        self.seenItems = loss.needsSeenItems ? seenItems : []
    }

    /// Whether the loss masks every negative its row's user has in the training data.
    public var maskSeenItems: Bool { loss.maskSeenItems }

    /// Whether the spec carries every user's training items (`LossSettings.needsSeenItems`).
    public var carriesSeenItems: Bool { loss.needsSeenItems }
}

extension TrainingSpec {
    static let flagLogQCorrection: UInt8 = 1 << 0
    static let flagMixInBatch: UInt8 = 1 << 1
    static let flagRemoveAccidentalHits: UInt8 = 1 << 2
    static let flagVerifyReplicas: UInt8 = 1 << 3
    static let flagLiveNegatives: UInt8 = 1 << 4
    static let flagPositiveTemperature: UInt8 = 1 << 5
    static let flagMaskSeenItems: UInt8 = 1 << 6
    static let flagTrainedBankNegatives: UInt8 = 1 << 7
    static let knownFlags: UInt8 = 0xFF

    func write(to w: inout ByteWriter) {
        w.u32(users, "spec users")
        w.u32(items, "spec items")
        w.u32(dim, "spec dim")
        w.u8(loss.kind.rawValue)
        w.u8(loss.similarity.rawValue)
        w.u8(sampler.rawValue)
        var flags: UInt8 = 0
        if loss.logQCorrection { flags |= Self.flagLogQCorrection }
        if loss.mixInBatch { flags |= Self.flagMixInBatch }
        if loss.removeAccidentalHits { flags |= Self.flagRemoveAccidentalHits }
        if verifyReplicas { flags |= Self.flagVerifyReplicas }
        if loss.liveNegatives { flags |= Self.flagLiveNegatives }
        if loss.positiveTemperature != nil { flags |= Self.flagPositiveTemperature }
        if loss.maskSeenItems { flags |= Self.flagMaskSeenItems }
        if loss.trainedBankNegatives { flags |= Self.flagTrainedBankNegatives }
        w.u8(flags)
        w.f32(loss.temperature)
        if let positiveTemperature = loss.positiveTemperature { w.f32(positiveTemperature) }
        if loss.kind == .ccl {
            w.f32(loss.cclMargin)
            w.f32(loss.cclNegativeWeight)
        }
        w.u32(loss.negatives, "spec negatives")
        w.u32(loss.hardNegatives, "spec hard negatives")
        w.u32(loss.hardNegativePool, "spec hard-negative pool")
        w.u32(loss.hardNegativeSkip, "spec hard-negative skip")
        w.f32(popularityAlpha)
        w.u64(seed)
        w.u32(popularity.count, "spec popularity count")
        w.f32s(popularity)
        if carriesSeenItems {
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
        let lossCode = try r.u8("spec loss")
        let similarityCode = try r.u8("spec similarity")
        let samplerCode = try r.u8("spec sampler")
        let flags = try r.u8("spec flags")
        guard let kind = LossKind(rawValue: lossCode) else { throw .invalid("spec loss code \(lossCode)") }
        guard let similarity = Similarity(rawValue: similarityCode) else {
            throw .invalid("spec similarity code \(similarityCode)")
        }
        guard let sampler = SamplerKind(rawValue: samplerCode) else { throw .invalid("spec sampler code \(samplerCode)") }
        guard flags & ~knownFlags == 0 else { throw .invalid("spec flags 0x\(hex(flags, width: 2)) has unknown bits") }
        let temperature = try r.f32("spec temperature")
        let positiveTemperature = flags & flagPositiveTemperature != 0 ? try r.f32("spec positive temperature") : nil
        if let positiveTemperature, !(positiveTemperature > 0 && positiveTemperature.isFinite) {
            throw .invalid("spec positive temperature \(positiveTemperature) is not a positive number")
        }
        // Only the softmax losses have a τ⁺: anything else would not survive the trip through `LossSettings`.
        if positiveTemperature != nil, !LossSettings(kind: kind).takesPositiveTemperature {
            throw .invalid("spec positive temperature given for loss \(kind), which has none")
        }
        var ccl = (margin: RunDefaults.cclMargin, weight: RunDefaults.cclNegativeWeight)
        if kind == .ccl {
            ccl = (try r.f32("spec CCL margin"), try r.f32("spec CCL negative weight"))
            guard ccl.margin > -1 && ccl.margin < 1, ccl.weight >= 0 && ccl.weight.isFinite else {
                throw .invalid("spec CCL margin \(ccl.margin) (must be in (−1, 1)) or weight \(ccl.weight) (must be ≥ 0)")
            }
        }
        let negatives = try r.count("spec negatives")
        let hardNegatives = try r.count("spec hard negatives")
        let hardNegativePool = try r.count("spec hard-negative pool")
        let hardNegativeSkip = try r.count("spec hard-negative skip")
        guard hardNegatives > 0 || (hardNegativePool == 0 && hardNegativeSkip == 0) else {
            throw .invalid("spec hard-negative pool \(hardNegativePool) or skip \(hardNegativeSkip) given without hard negatives")
        }
        let popularityAlpha = try r.f32("spec popularityAlpha")
        let seed = try r.u64("spec seed")
        let popularityCount = try r.count("spec popularity count")
        guard popularityCount == 0 || popularityCount == items else {
            throw .invalid("spec popularity has \(popularityCount) entries for \(items) items")
        }
        let popularity = try r.f32s(popularityCount, "spec popularity")
        let maskSeenItems = flags & flagMaskSeenItems != 0
        var seen: (counts: [UInt32], items: [UInt32]) = ([], [])
        if maskSeenItems || hardNegatives > 0 {
            let counts = try r.u32s(users, "spec seen-item counts")
            let total = try r.count("spec seen items")
            let sum = counts.reduce(0) { $0 + Int($1) }
            guard sum == total else { throw .invalid("spec seen-item counts add up to \(sum), not \(total)") }
            seen = (counts, try r.u32s(total, "spec seen items"))
        }
        let loss = LossSettings(
            kind: kind, similarity: similarity, temperature: temperature, negatives: negatives,
            removeAccidentalHits: flags & flagRemoveAccidentalHits != 0, logQCorrection: flags & flagLogQCorrection != 0,
            mixInBatch: flags & flagMixInBatch != 0, liveNegatives: flags & flagLiveNegatives != 0,
            positiveTemperature: positiveTemperature, cclMargin: ccl.margin, cclNegativeWeight: ccl.weight,
            maskSeenItems: maskSeenItems, trainedBankNegatives: flags & flagTrainedBankNegatives != 0,
            hardNegatives: hardNegatives, hardNegativePool: hardNegativePool, hardNegativeSkip: hardNegativeSkip)
        return TrainingSpec(users: users, items: items, dim: dim, loss: loss, sampler: sampler,
                            verifyReplicas: flags & flagVerifyReplicas != 0, popularityAlpha: popularityAlpha, seed: seed,
                            popularity: popularity, seenCounts: seen.counts, seenItems: seen.items)
    }
}
