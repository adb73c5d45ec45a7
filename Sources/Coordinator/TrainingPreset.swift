import Foundation
import Kernels
import RunSettings

/// The size of a dataset, as far as a preset needs it: users, items and training pairs.
public struct DataShape: Sendable, Equatable {
    public var users: Int
    public var items: Int
    public var pairs: Int

    public init(users: Int, items: Int, pairs: Int) {
        self.users = users
        self.items = items
        self.pairs = pairs
    }

    /// Training pairs per (user, item) cell: the chance that a uniformly drawn item is one the user has (0 when
    /// empty).
    public var density: Double {
        users > 0 && items > 0 ? Double(pairs) / (Double(users) * Double(items)) : 0
    }
}

/// Settings that follow the data's density ρ: the softmax temperatures and the weight decay.
///
/// On dense data a uniformly sampled negative is often an item the user does like (ρ of them are training items
/// alone), and a sharp softmax pushes those away as hard as the rest; dense data wants a softer τ, and a positive
/// pulled nearly as hard as the negatives are pushed. Dense data also gains from a little L2 regularisation, which
/// on sparse data holds most rows (touched a few times per epoch) near zero.
/// Below `sparse.density` the sparse settings hold, above `dense.density` the dense ones; in between τ, the ratio
/// τ⁺/τ and the weight decay move linearly in log ρ.
public struct DensityRule: Sendable, Equatable {
    public struct Anchor: Sendable, Equatable {
        public let density: Double
        public let temperature: Float
        public let positiveTemperature: Float
        public let weightDecay: Float
    }

    public let sparse: Anchor
    public let dense: Anchor

    /// Where ρ lies between the anchors: 0 at or below the sparse one, 1 at or above the dense one.
    func position(density: Double) -> Float {
        let lo = log(sparse.density), hi = log(dense.density)
        let x = density > 0 ? log(density) : -Double.infinity
        return Float(Swift.min(1, Swift.max(0, (x - lo) / (hi - lo))))
    }

    /// (τ, τ⁺) for data of this density.
    public func temperatures(density: Double) -> (temperature: Float, positiveTemperature: Float) {
        let t = position(density: density)
        let tau = sparse.temperature + t * (dense.temperature - sparse.temperature)
        let sparseRatio = sparse.positiveTemperature / sparse.temperature
        let denseRatio = dense.positiveTemperature / dense.temperature
        let ratio = sparseRatio + t * (denseRatio - sparseRatio)
        return (tau, tau * ratio)
    }

    /// The L2 weight decay for data of this density.
    public func weightDecay(density: Double) -> Float {
        let t = position(density: density)
        return sparse.weightDecay + t * (dense.weightDecay - sparse.weightDecay)
    }
}

/// A named set of training settings. A preset sets only what it names; flags given on the command line override
/// it. Presets hold no per-dataset constants: where a setting depends on the data, it is derived from its size.
public struct TrainingPreset: Sendable, Equatable {
    public let name: String
    public let summary: String
    let epochs: Int?
    let batchSize: Int?
    let negatives: Int?
    /// Negatives as a fraction of the catalogue, capped by `negatives` (small catalogues get fewer).
    let negativesPerItem: Double?
    let temperature: Float?
    let positiveTemperature: Float?
    /// Temperatures and weight decay from the data's density, in place of `temperature` and `positiveTemperature`.
    let densityRule: DensityRule?
    let liveNegatives: Bool?
    /// Hard negatives per pair mined from the bank, and the closest candidates each pair passes over first.
    let hardNegatives: Int?
    let hardNegativeSkip: Int?
    let optimizer: OptimizerKind?
    let learningRate: Float?
    let learningRateSchedule: LearningRateSchedule?
    let validationFraction: Double?
    let patience: Int?

    /// The default loss of the product: InfoNCE against K constant memory-bank negatives.
    public static let bank = TrainingPreset(
        name: "bank", summary: "InfoNCE against \(RunDefaults.negatives) constant memory-bank negatives, τ \(RunDefaults.temperature), Adam lr \(RunDefaults.learningRate) (the defaults)",
        epochs: nil, batchSize: RunDefaults.batchSize, negatives: RunDefaults.negatives, negativesPerItem: nil,
        temperature: RunDefaults.temperature, positiveTemperature: nil, densityRule: nil, liveNegatives: false,
        hardNegatives: nil, hardNegativeSkip: nil, optimizer: .adam, learningRate: RunDefaults.learningRate, learningRateSchedule: .constant,
        validationFraction: nil, patience: nil)

    /// Sampled softmax: the sampled negatives are read from the live item table and receive gradients.
    public static let live = TrainingPreset(
        name: "live", summary: "the same negatives read from the live item table, with gradients (sampled softmax)",
        epochs: nil, batchSize: RunDefaults.batchSize, negatives: RunDefaults.negatives, negativesPerItem: nil,
        temperature: RunDefaults.temperature, positiveTemperature: nil, densityRule: nil, liveNegatives: true,
        hardNegatives: nil, hardNegativeSkip: nil, optimizer: .adam, learningRate: RunDefaults.learningRate, learningRateSchedule: .constant,
        validationFraction: nil, patience: nil)

    /// The best ranking quality measured: live negatives (up to 2048, at most half the catalogue) and, per pair, 32
    /// hard negatives mined from the memory bank (ranks 9–40 of a fresh pool of 2048 scored against the pair's user
    /// on the bank, its training items left out), the bilateral softmax (the positive out of the sum, with its own
    /// temperature τ⁺) with temperatures and a weight decay that follow the data's density (`qualityRule`), dense Adam
    /// on steps of 1024 pairs, the learning rate decayed along a cosine over 60 epochs to 1 % of its start. The hard
    /// negatives lead on every dataset: Gowalla 0.1873 / 0.1575 against 0.1867 / 0.1570, ml-1m 0.2825 / 0.2701
    /// against 0.2799 / 0.2679, MovieLens-100K +0.0013 / +0.0023 over three seeds (`bench/quality-results.md`); the 8
    /// closest are passed over because they are the likeliest to be items the user will choose (taking them ends
    /// level on Gowalla). No validation split: it would take training pairs away
    /// (2 % of them cost Gowalla 0.0014 Recall@20), and with the rate decayed to its end the last epoch was within
    /// 0.0003 of the best test epoch on Gowalla and ml-1m; `--validation-fraction` and `--patience` add selection and
    /// early stopping.
    public static let quality = TrainingPreset(
        name: "quality",
        summary: "live negatives (2048, at most half the items) and 32 hard negatives per pair mined from the memory bank (ranks 9–40 of a pool of 2048), bilateral softmax with τ, τ⁺ and weight decay from the data's density (τ 0.1 τ⁺ 0.122 no decay at density ≤ 0.001, τ 0.17 τ⁺ 0.18 decay 1e-4 at ≥ 0.03), batch 1024, dense Adam lr 0.01 cosine-decayed over 60 epochs, no validation split",
        epochs: 60, batchSize: 1024, negatives: 2048, negativesPerItem: 0.5, temperature: nil, positiveTemperature: nil,
        densityRule: qualityRule, liveNegatives: true, hardNegatives: 32, hardNegativeSkip: 8, optimizer: .denseAdam,
        learningRate: 0.01, learningRateSchedule: .cosine(finalFraction: 0.01), validationFraction: nil, patience: nil)

    /// The quality preset's density rule. Sparse: τ 0.1 with τ⁺ 0.122 (the positive pulled 1.22× less hard than
    /// the negatives are pushed) and no weight decay, the best measured on Gowalla (density 0.00066), where a decay
    /// of 1e-4 held Recall@20 at 0.15 or below for 9 epochs (0.176 at epoch 9 without). Dense: τ 0.17 with τ⁺ 0.18
    /// (1.06×) and weight decay 1e-4, the best measured on ml-1m (density 0.043), where Gowalla's temperatures lose
    /// about 0.03 Recall@20 and the decay gains 0.001 in Recall@20 and 0.002 in NDCG@20.
    public static let qualityRule = DensityRule(
        sparse: .init(density: 0.001, temperature: 0.1, positiveTemperature: 0.122, weightDecay: 0),
        dense: .init(density: 0.03, temperature: 0.17, positiveTemperature: 0.18, weightDecay: 1e-4))

    public static let all: [TrainingPreset] = [.bank, .live, .quality]

    public static func named(_ name: String) -> TrainingPreset? { all.first { $0.name == name } }

    /// Sets what the preset names, for a dataset of this shape.
    public func apply(to s: inout CoordinatorSettings, data: DataShape) {
        if let epochs { s.epochs = epochs }
        if let batchSize { s.batchSize = batchSize }
        if var k = negatives {
            if let fraction = negativesPerItem { k = max(1, min(k, Int(Double(data.items) * fraction))) }
            s.loss.negatives = k
        }
        if let temperature { s.loss.temperature = temperature }
        s.loss.positiveTemperature = positiveTemperature
        if let rule = densityRule {
            let (tau, tauPlus) = rule.temperatures(density: data.density)
            s.loss.temperature = tau
            s.loss.positiveTemperature = tauPlus
            s.optimizer.weightDecay = rule.weightDecay(density: data.density)
        }
        if let liveNegatives { s.loss.liveNegatives = liveNegatives }
        if let hardNegatives {
            s.loss.hardNegatives = hardNegatives
            s.loss.hardNegativePool = RunDefaults.hardNegativePool
            s.loss.hardNegativeSkip = hardNegativeSkip ?? 0
        }
        if let optimizer { s.optimizer.kind = optimizer }
        if let learningRate { s.optimizer.learningRate = learningRate }
        if let learningRateSchedule { s.learningRateSchedule = learningRateSchedule }
        if let validationFraction { s.validationFraction = validationFraction }
        if let patience { s.patience = patience }
    }
}
