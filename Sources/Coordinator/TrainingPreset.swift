import Kernels

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
    let liveNegatives: Bool?
    let optimizer: OptimizerKind?
    let learningRate: Float?
    let learningRateSchedule: LearningRateSchedule?
    let validationFraction: Double?
    let patience: Int?

    /// The default loss of the product: InfoNCE against K constant memory-bank negatives.
    public static let bank = TrainingPreset(
        name: "bank", summary: "InfoNCE against 1024 constant memory-bank negatives, τ 0.1, Adam lr 0.01 (the defaults)",
        epochs: nil, batchSize: 3072, negatives: 1024, negativesPerItem: nil, temperature: 0.1, positiveTemperature: nil,
        liveNegatives: false, optimizer: .adam, learningRate: 0.01, learningRateSchedule: .constant, validationFraction: nil, patience: nil)

    /// Sampled softmax: the sampled negatives are read from the live item table and receive gradients.
    public static let live = TrainingPreset(
        name: "live", summary: "the same negatives read from the live item table, with gradients (sampled softmax)",
        epochs: nil, batchSize: 3072, negatives: 1024, negativesPerItem: nil, temperature: 0.1, positiveTemperature: nil,
        liveNegatives: true, optimizer: .adam, learningRate: 0.01, learningRateSchedule: .constant, validationFraction: nil, patience: nil)

    /// The best ranking quality measured: live negatives (up to 4096, at most half the catalogue), the bilateral
    /// softmax with τ 0.08 and τ⁺ 0.0976 (the positive out of the sum, pulled 1.22× less hard than the negatives are
    /// pushed), dense Adam on steps of 1024 pairs, the learning rate decayed along a cosine over 25 epochs, and a 2 %
    /// validation split with early stopping after 5 epochs without improvement.
    public static let quality = TrainingPreset(
        name: "quality",
        summary: "live negatives (4096, at most half the items), bilateral softmax τ 0.08 τ⁺ 0.0976, batch 1024, dense Adam lr 0.01 cosine-decayed over 25 epochs, validation 2 %, patience 5",
        epochs: 25, batchSize: 1024, negatives: 4096, negativesPerItem: 0.5, temperature: 0.08, positiveTemperature: 0.0976,
        liveNegatives: true, optimizer: .denseAdam, learningRate: 0.01, learningRateSchedule: .cosine(finalFraction: 0.01),
        validationFraction: 0.02, patience: 5)

    public static let all: [TrainingPreset] = [.bank, .live, .quality]

    public static func named(_ name: String) -> TrainingPreset? { all.first { $0.name == name } }

    /// Sets what the preset names, for a dataset of `itemCount` items.
    public func apply(to s: inout CoordinatorSettings, itemCount: Int) {
        if let epochs { s.epochs = epochs }
        if let batchSize { s.batchSize = batchSize }
        if var k = negatives {
            if let fraction = negativesPerItem { k = max(1, min(k, Int(Double(itemCount) * fraction))) }
            s.loss.negatives = k
        }
        if let temperature { s.loss.temperature = temperature }
        s.loss.positiveTemperature = positiveTemperature
        if let liveNegatives { s.loss.liveNegatives = liveNegatives }
        if let optimizer { s.optimizer.kind = optimizer }
        if let learningRate { s.optimizer.learningRate = learningRate }
        if let learningRateSchedule { s.learningRateSchedule = learningRateSchedule }
        if let validationFraction { s.validationFraction = validationFraction }
        if let patience { s.patience = patience }
    }
}
