/// Which update rule a `SparseOptimizer` applies.
public enum OptimizerKind: String, Sendable, CaseIterable {
    case adam, sgd, adagrad
}

/// Hyper-parameters of a `SparseOptimizer`.
public struct OptimizerSettings: Sendable, Equatable {
    public var kind: OptimizerKind
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    /// Added to the denominator (Adam: √v + ε; Adagrad: √acc + ε).
    public var epsilon: Float
    /// L2: adds weightDecay · row to the gradient of touched rows.
    public var weightDecay: Float

    public init(
        kind: OptimizerKind = .adam, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
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
