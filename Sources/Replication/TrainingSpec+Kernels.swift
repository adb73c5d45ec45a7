import Kernels
import Wire

/// How bank negatives are drawn.
public enum SamplerKind: UInt8, Sendable, CaseIterable {
    case uniform = 0, popularity = 1
}

extension TrainingSpec {
    /// The spec that tells a worker how to compute gradients.
    public init(users: Int, items: Int, dim: Int, loss: LossSettings, sampler: SamplerKind, popularityAlpha: Float,
                popularity: [Float], seed: UInt64, verifyReplicas: Bool, seenItems: SeenItems? = nil) {
        precondition(!loss.maskSeenItems || seenItems?.userCount == users, "maskSeenItems needs every user's seen items")
        let seen = loss.maskSeenItems ? seenItems : nil
        self.init(users: users, items: items, dim: dim, loss: loss.kind.rawValue,
                  similarity: loss.similarity.rawValue, sampler: sampler.rawValue,
                  logQCorrection: loss.logQCorrection, mixInBatch: loss.mixInBatch,
                  removeAccidentalHits: loss.removeAccidentalHits, verifyReplicas: verifyReplicas,
                  liveNegatives: loss.liveNegatives, temperature: loss.temperature,
                  positiveTemperature: loss.kind == .bpr || loss.kind == .ccl ? nil : loss.positiveTemperature,
                  cclMargin: loss.kind == .ccl ? loss.cclMargin : 0,
                  cclNegativeWeight: loss.kind == .ccl ? loss.cclNegativeWeight : 0, negatives: loss.negatives,
                  popularityAlpha: popularityAlpha,
                  seed: seed, popularity: sampler == .popularity ? popularity : [],
                  maskSeenItems: seen != nil, seenCounts: seen?.counts ?? [], seenItems: seen?.items ?? [])
    }

    /// The loss settings the spec names; nil when a code is unknown.
    public var lossSettings: LossSettings? {
        guard let kind = LossKind(rawValue: loss), let sim = Similarity(rawValue: similarity) else { return nil }
        return LossSettings(kind: kind, similarity: sim, temperature: temperature, negatives: negatives,
                            removeAccidentalHits: removeAccidentalHits, logQCorrection: logQCorrection,
                            mixInBatch: mixInBatch, liveNegatives: liveNegatives,
                            positiveTemperature: positiveTemperature,
                            cclMargin: kind == .ccl ? cclMargin : 0.9, cclNegativeWeight: kind == .ccl ? cclNegativeWeight : 150,
                            maskSeenItems: maskSeenItems)
    }

    /// The users' seen items that the spec carries (nil when it masks none); throws when they are malformed.
    public func seenItemLists() throws(SeenItems.ValidationError) -> SeenItems? {
        guard maskSeenItems else { return nil }
        guard seenCounts.count == users else { throw .counts(seenCounts.count, users: users) }
        return try SeenItems(counts: seenCounts, items: seenItems, itemCount: items)
    }

    /// The negative sampler the spec names; nil when the code is unknown, or the popularity counts are missing or
    /// unusable (a count or the exponent negative or not finite, or no item with weight), which the sampler's
    /// preconditions would otherwise turn into a crash of the worker that received the spec.
    public var negativeSampler: NegativeSampler? {
        switch SamplerKind(rawValue: sampler) {
        case .uniform:
            guard items > 0 else { return nil }
            return .uniform(items: items)
        case .popularity:
            guard items > 0, popularity.count == items, popularityAlpha >= 0, popularityAlpha.isFinite,
                  popularity.allSatisfy({ $0 >= 0 && $0.isFinite }),
                  popularityAlpha == 0 || popularity.contains(where: { $0 > 0 }) else { return nil }
            return .popularity(counts: popularity, alpha: popularityAlpha)
        case nil: return nil
        }
    }
}

/// The random stream of a minibatch's negatives: a function of the seed and the minibatch alone, so that any worker
/// draws the same negatives for it.
public func negativeStream(seed: UInt64, epoch: UInt32, minibatch: UInt32) -> SeededRandom {
    SeededRandom(seed: seed, stream: 0x4E45_47, UInt64(epoch), UInt64(minibatch))
}
