/// Every default of a run, written once: the coordinator's flags, `CoordinatorSettings`, the presets and the loss
/// settings read them from here.
public enum RunDefaults {
    /// Where the coordinator's ROUTER socket binds.
    public static let bind = "tcp://127.0.0.1:5555"
    public static let epochs = 5
    /// Embedding dimension d.
    public static let dim = 64
    /// Examples per global step.
    public static let batchSize = 3072
    /// Bank negatives K per minibatch.
    public static let negatives = 1024
    /// Items drawn per minibatch among which each pair's hard negatives are chosen (`--hard-negative-pool`).
    public static let hardNegativePool = 2048
    /// τ of the softmax losses (MNR: `LossSettings.defaultTemperature(for:)`).
    public static let temperature: Float = 0.1
    /// CCL: margin m and weight w of the negative term.
    public static let cclMargin: Float = 0.9
    public static let cclNegativeWeight: Float = 150
    /// Exponent of the popularity sampler.
    public static let popularityAlpha: Float = 0.75
    /// Memory-bank momentum m.
    public static let momentum: Float = 0.5
    /// The optimizer's learning rate.
    public static let learningRate: Float = 0.01
    /// Standard deviation of the initial embeddings.
    public static let initStd: Float = 0.1
    /// Seed of initialisation, shuffling and negative sampling.
    public static let seed: UInt64 = 42
    /// Ranking cut-offs of the evaluation.
    public static let evaluationKs = [20]
    /// Where metrics, embeddings and checkpoints go.
    public static let outputDirectory = "runs/latest"
}
