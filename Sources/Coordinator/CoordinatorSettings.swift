import Kernels
import Replication
import RunSettings
import Transport

/// Everything that decides how a run trains: `resolve` makes it from the defaults (`RunDefaults`), a preset, the
/// flags and the data's shape.
public struct CoordinatorSettings: Sendable {
    /// Where the ROUTER socket binds, `tcp://HOST:PORT` (port 0: any free port).
    public var bind = RunDefaults.bind
    /// Ready workers needed before the first step.
    public var minimumWorkers = 1
    public var epochs = RunDefaults.epochs
    public var dim = RunDefaults.dim
    /// Examples per global step.
    public var batchSize = RunDefaults.batchSize
    /// Pairs per minibatch (the unit a worker computes; each draws its own negatives). nil: batchSize / workers.
    public var minibatchSize: Int?
    public var loss = LossSettings()
    public var sampler = SamplerKind.uniform
    public var popularityAlpha = RunDefaults.popularityAlpha
    public var momentum = RunDefaults.momentum
    public var optimizer = OptimizerSettings()
    /// The learning rate over the planned steps (`epochs`); early stopping and time limits do not stretch it.
    public var learningRateSchedule = LearningRateSchedule.constant
    public var initStd = RunDefaults.initStd
    public var seed = RunDefaults.seed
    public var evaluationKs = RunDefaults.evaluationKs
    /// Test users evaluated each epoch: a seeded sample (the run's seed, the same users every epoch) of this many,
    /// or all of them when 0 or when there are no more.
    public var evaluationUsers = 0
    /// Evaluate every this many epochs, and always the last one; the others record their training figures only.
    /// Early stopping's patience still counts epochs.
    public var evaluateEvery = 1
    /// Fraction of each user's distinct training items held out for validation (0: none). The command carves it.
    public var validationFraction = 0.0
    /// Early stopping: epochs without a better validation Recall@K before training ends (0: never).
    public var patience = 0
    /// Training ends with the epoch in progress once this many seconds have passed since the first step (nil: no
    /// limit).
    public var timeLimit: Double?
    /// Where metrics, embeddings and checkpoints go.
    public var outputDirectory = RunDefaults.outputDirectory
    /// Also checkpoint every this many steps (0: only at epoch ends and at the end).
    public var checkpointEverySteps = 0
    /// Continue from the newest valid checkpoint in the output directory.
    public var resume = false
    public var timings = ProtocolTimings()
    /// What one peer may cost the run: members admitted, the WELCOME rate, the task deadline, refusals.
    public var peerLimits = PeerLimits()
    /// Workers send a hash of the STEP rows each gradient was computed from; the coordinator checks it.
    public var verifyReplicas = false
    /// Largest message accepted from a worker (ZMQ_MAXMSGSIZE); nil: computed from the minibatch size.
    public var maxMessageBytes: Int?
    public var faults: FaultSettings?
    /// CurveZMQ: the coordinator's key pair and the workers' public keys it admits; nil = plain text, anyone.
    public var curve: CurveServer?
    /// With `curve` and `shards`: the shards' public keys, one for all or one per shard in shard order.
    public var shardPublicKeys: [CurveKey] = []
    /// The state shards' addresses (`coordinator shard`), in shard order; empty: the coordinator holds the state.
    public var shards: [String] = []
    /// How long the coordinator waits for a shard's answer before it stops the run.
    public var shardTimeout = 120.0
    /// The preset named for the run and what it chose (recorded in metrics.jsonl's start event).
    public var preset: PresetChoice?

    public init() {}

    public var effectiveMinibatchSize: Int {
        minibatchSize ?? max(1, (batchSize + minimumWorkers - 1) / minimumWorkers)
    }

    public var minibatchesPerStep: Int {
        max(1, (batchSize + effectiveMinibatchSize - 1) / effectiveMinibatchSize)
    }

    /// The largest legal GRADIENT, doubled: user rows (at most a minibatch) and item rows (positives, plus in-batch,
    /// BPR or live negatives: at most two minibatches and K), each row an id and dim floats.
    public var effectiveMaxMessageBytes: Int {
        maxMessageBytes ?? max(1 << 20, 2 * ((3 * effectiveMinibatchSize + loss.negatives) * (dim * 4 + 4) + 4096))
    }

    /// What is allowed but probably not meant on data of this shape; the coordinator logs each as a warning.
    public func warnings(data: DataShape) -> [String] {
        var out: [String] = []
        if loss.usesBankNegatives && loss.negatives > data.items {
            out.append("--negatives \(loss.negatives) is more than the \(data.items) items: negatives are drawn with replacement, so each step scores some items several times; \(data.items) or fewer costs less")
        }
        return out
    }

    /// A sentence for each setting that cannot work, empty when all is well.
    public func problems() -> [String] {
        var out: [String] = []
        if epochs < 1 { out.append("--epochs must be at least 1 (got \(epochs))") }
        if dim < 1 || dim > 4096 { out.append("--dim must be between 1 and 4096 (got \(dim))") }
        if batchSize < 1 { out.append("--batch-size must be at least 1 (got \(batchSize))") }
        if let m = minibatchSize, m < 1 || m > batchSize {
            out.append("--minibatch-size must be between 1 and --batch-size \(batchSize) (got \(m))")
        }
        if minimumWorkers < 1 { out.append("--workers must be at least 1 (got \(minimumWorkers))") }
        if shards.count == 1 { out.append("--shard needs at least two shards (one shard is the coordinator's own state: leave --shard out)") }
        if !shards.isEmpty && curve != nil && shardPublicKeys.count != 1 && shardPublicKeys.count != shards.count {
            out.append(shardPublicKeys.isEmpty
                ? "with CurveZMQ on (--curve-secret-key), the links to the shards are encrypted too: give each shard's public key with --shard-public-key (once for all, or once per --shard in the same order)"
                : "--shard-public-key is given \(shardPublicKeys.count) times for \(shards.count) shards: give it once for all, or once per --shard")
        }
        if !shardPublicKeys.isEmpty && curve == nil {
            out.append("--shard-public-key needs CurveZMQ on: --curve-secret-key and --authorized-keys")
        }
        if !(shardTimeout > 0 && shardTimeout.isFinite) { out.append("--shard-timeout must be positive (got \(shardTimeout))") }
        if !(loss.temperature > 0) { out.append("--temperature must be positive (got \(loss.temperature))") }
        if let tauPlus = loss.positiveTemperature {
            if !(tauPlus > 0 && tauPlus.isFinite) { out.append("--positive-temperature must be positive (got \(tauPlus))") }
            if loss.kind == .bpr || loss.kind == .ccl {
                out.append("--positive-temperature applies to the softmax losses, not \(loss.kind == .bpr ? "bpr" : "ccl")")
            }
        }
        if loss.negatives < 1 || loss.negatives > 1 << 20 {
            out.append("--negatives must be between 1 and 1048576 (got \(loss.negatives))")
        }
        if loss.kind == .ccl {
            if !(loss.cclMargin > -1 && loss.cclMargin < 1) { out.append("--ccl-margin must be in (-1, 1) (got \(loss.cclMargin))") }
            if !(loss.cclNegativeWeight >= 0 && loss.cclNegativeWeight.isFinite) {
                out.append("--ccl-negative-weight must be 0 or more (got \(loss.cclNegativeWeight))")
            }
            if loss.logQCorrection { out.append("--logq applies to the softmax losses, not ccl") }
        }
        if loss.trainedBankNegatives {
            if loss.liveNegatives {
                out.append("--trained-bank-negatives reads the negatives from the bank, --live-negatives from the item table: give one of them")
            } else if !loss.usesBankNegatives {
                out.append("--trained-bank-negatives needs a loss with bank negatives (softmax, in-batch with --mix-in-batch, or ccl), not \(loss.kind)")
            }
        }
        if loss.hardNegatives < 0 { out.append("--hard-negatives must be 0 or more (got \(loss.hardNegatives))") }
        if loss.minesHardNegatives {
            if loss.kind != .bankInfoNCE {
                out.append("--hard-negatives needs the bank InfoNCE loss (--loss bank-infonce), not \(loss.kind)")
            } else if !loss.trainsNegatives {
                out.append("--hard-negatives needs negatives that get gradients: add --live-negatives or --trained-bank-negatives")
            }
            if loss.hardNegativePool < loss.hardNegatives || loss.hardNegativePool > 1 << 20 {
                out.append("--hard-negative-pool must be between --hard-negatives \(loss.hardNegatives) and 1048576 (got \(loss.hardNegativePool))")
            } else if loss.hardNegativeSkip < 0 || loss.hardNegativeSkip + loss.hardNegatives > loss.hardNegativePool {
                out.append("--hard-negative-skip must be between 0 and --hard-negative-pool − --hard-negatives (got \(loss.hardNegativeSkip))")
            }
        }
        if loss.maskSeenItems && !loss.removeAccidentalHits {
            out.append("--mask-seen-items removes the row's positive among the rest, so it cannot go with --keep-accidental-hits")
        }
        if !(popularityAlpha >= 0 && popularityAlpha.isFinite) {
            out.append("--popularity-alpha must be finite and at least 0 (got \(popularityAlpha))")
        }
        if !(momentum >= 0 && momentum < 1) { out.append("--momentum must be in [0, 1) (got \(momentum))") }
        if !(optimizer.learningRate > 0) { out.append("--lr must be positive (got \(optimizer.learningRate))") }
        if !(optimizer.weightDecay >= 0 && optimizer.weightDecay.isFinite) {
            out.append("--weight-decay must be finite and at least 0 (got \(optimizer.weightDecay))")
        }
        if evaluationKs.isEmpty || evaluationKs.contains(where: { $0 < 1 }) {
            out.append("--eval-k needs positive cutoffs (got \(evaluationKs))")
        }
        if evaluateEvery < 1 { out.append("--eval-every must be 1 or more (got \(evaluateEvery))") }
        if evaluationUsers < 0 { out.append("--evaluation-users must be 0 (all test users) or more (got \(evaluationUsers))") }
        if !(validationFraction >= 0 && validationFraction <= 0.5) {
            out.append("--validation-fraction must be between 0 and 0.5 (got \(validationFraction))")
        }
        if let t = timeLimit, !(t > 0) { out.append("--time-limit must be positive (got \(t))") }
        if patience < 0 { out.append("--patience must be 0 or more (got \(patience))") }
        if patience > 0 && validationFraction == 0 {
            out.append("--patience needs a validation split (--validation-fraction)")
        }
        if checkpointEverySteps < 0 { out.append("--checkpoint-every must be 0 or more") }
        return out
    }
}
