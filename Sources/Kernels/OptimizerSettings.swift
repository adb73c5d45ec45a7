import RunSettings
/// Which update rule a `SparseOptimizer` applies.
/// - adam: lazy (sparse) Adam: only the rows in the gradient move, like `torch.optim.SparseAdam`.
/// - denseAdam (`dense-adam`): Adam on every row each step, like `torch.optim.Adam` on a dense embedding table: a row
///   absent from the gradient has gradient zero, so its moments decay and it keeps moving along its momentum
///   (taken lazily when the row is next read: `SparseOptimizer.catchUp`).
public enum OptimizerKind: String, Sendable, CaseIterable {
    case adam
    case denseAdam = "dense-adam"
    case sgd, adagrad
}

/// Hyper-parameters of a `SparseOptimizer`.
public struct OptimizerSettings: Sendable, Equatable {
    public var kind: OptimizerKind
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    /// Added to the denominator (Adam: √v + ε; Adagrad: √acc + ε).
    public var epsilon: Float
    /// L2: adds weightDecay · row to the gradient of the rows in the gradient.
    public var weightDecay: Float

    public init(
        kind: OptimizerKind = .adam, learningRate: Float = RunDefaults.learningRate, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0
    ) {
        self.kind = kind
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}
