import Foundation
import Kernels

/// The reference for lazy dense Adam: dense Adam as first built, every step walking all rows. A row in the gradient
/// takes its gradient (and weight decay) and restarts its idle count; every other row not at rest
/// (idle < restAfter) takes gradient zero with no decay and counts one more idle step. The row rule is
/// `SparseOptimizer`'s `adamRow` in its scalar form (its 8-lane form does the same operations in the same order).
public final class EagerDenseAdam {
    public let settings: OptimizerSettings
    public let rows: Int
    public let dim: Int
    public let restAfter: Int
    public private(set) var stepCount = 0
    public private(set) var m: [Float]
    public private(set) var v: [Float]
    /// Steps since each row was last in a gradient, capped at `restAfter`.
    public private(set) var idle: [Float]

    public init(settings: OptimizerSettings, rows: Int, dim: Int) {
        precondition(settings.kind == .denseAdam, "the reference is dense Adam")
        self.settings = settings
        self.rows = rows
        self.dim = dim
        restAfter = SparseOptimizer(settings: settings, rows: 0, dim: dim).restAfter
        m = [Float](repeating: 0, count: rows * dim)
        v = m
        idle = [Float](repeating: Float(restAfter), count: rows)
    }

    /// The checkpoint arrays, as `SparseOptimizer.state` gives them for dense Adam: [m, v, idle].
    public var state: [[Float]] { [m, v, idle] }

    /// One step (gradient ids strictly ascending); returns every row that moved.
    @discardableResult
    public func apply(_ gradient: SparseRows, to table: EmbeddingTable, learningRateScale: Float = 1) -> [UInt32] {
        precondition(gradient.dim == dim && table.rows == rows && table.dim == dim)
        stepCount += 1
        let s = settings
        let t = Double(stepCount)
        let lr = s.learningRate * learningRateScale
        let step = Float(Double(lr) * (1 - pow(Double(s.beta2), t)).squareRoot() / (1 - pow(Double(s.beta1), t)))
        let rest = Float(restAfter)
        var moved: [UInt32] = []
        var next = 0
        table.withUnsafeMutableValues { theta in
            for r in 0 ..< rows {
                let inGradient = next < gradient.ids.count && Int(gradient.ids[next]) == r
                let decay: Float
                if inGradient {
                    decay = s.weightDecay
                    idle[r] = 0
                } else if idle[r] < rest {
                    decay = 0
                    idle[r] += 1
                } else {
                    continue
                }
                let oneMinusBeta1 = 1 - s.beta1, oneMinusBeta2 = 1 - s.beta2
                for j in 0 ..< dim {
                    let i = r * dim + j
                    let g: Float = inGradient ? gradient.values[next * dim + j] : 0
                    let theta0 = theta[i]
                    let gj = g + decay * theta0
                    let mj = s.beta1 * m[i] + oneMinusBeta1 * gj
                    let vj = s.beta2 * v[i] + oneMinusBeta2 * gj * gj
                    m[i] = mj
                    v[i] = vj
                    theta[i] = theta0 - step * mj / (vj.squareRoot() + s.epsilon)
                }
                if inGradient { next += 1 }
                moved.append(UInt32(r))
            }
        }
        return moved
    }
}
