import Kernels
import RunSettings
import Wire

extension TrainingSpec {
    /// The spec that tells a worker how to compute gradients: the popularity counts only for the popularity
    /// sampler, the users' seen items only when the loss needs them (masked seen items, hard negatives).
    public init(users: Int, items: Int, dim: Int, loss: LossSettings, sampler: SamplerKind, popularityAlpha: Float,
                popularity: [Float], seed: UInt64, verifyReplicas: Bool, seenItems: SeenItems? = nil) {
        precondition(!loss.needsSeenItems || seenItems?.userCount == users, "the loss needs every user's seen items")
        let seen = loss.needsSeenItems ? seenItems : nil
        self.init(users: users, items: items, dim: dim, loss: loss, sampler: sampler, verifyReplicas: verifyReplicas,
                  popularityAlpha: popularityAlpha, seed: seed, popularity: sampler == .popularity ? popularity : [],
                  seenCounts: seen?.counts ?? [], seenItems: seen?.items ?? [])
    }

    /// The users' seen items that the spec carries (nil when it carries none); throws when they are malformed.
    public func seenItemLists() throws(SeenItems.ValidationError) -> SeenItems? {
        guard carriesSeenItems else { return nil }
        guard seenCounts.count == users else { throw .counts(seenCounts.count, users: users) }
        return try SeenItems(counts: seenCounts, items: seenItems, itemCount: items)
    }

    /// The negative sampler the spec names; nil when the popularity counts are missing or
    /// unusable (a count or the exponent negative or not finite, or no item with weight), which the sampler's
    /// preconditions would otherwise turn into a crash of the worker that received the spec.
    public var negativeSampler: NegativeSampler? {
        switch sampler {
        case .uniform:
            guard items > 0 else { return nil }
            return .uniform(items: items)
        case .popularity:
            guard items > 0, popularity.count == items, popularityAlpha >= 0, popularityAlpha.isFinite,
                  popularity.allSatisfy({ $0 >= 0 && $0.isFinite }),
                  popularityAlpha == 0 || popularity.contains(where: { $0 > 0 }) else { return nil }
            return .popularity(counts: popularity, alpha: popularityAlpha)
        }
    }
}

/// The random stream of a minibatch's negatives: a function of the seed and the minibatch alone, so that any worker
/// draws the same negatives for it.
public func negativeStream(seed: UInt64, epoch: UInt32, minibatch: UInt32) -> SeededRandom {
    SeededRandom(seed: seed, stream: 0x4E45_47, UInt64(epoch), UInt64(minibatch))
}
