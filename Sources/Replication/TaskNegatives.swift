import Kernels
import RunSettings
import Wire

/// The negatives of a task and the item rows its gradient may hold, as functions of the spec and the task alone:
/// every worker draws the same negatives for a minibatch, and the coordinator derives from them what it accepts.
public struct TaskNegatives: Sendable {
    public let spec: TrainingSpec
    public let loss: LossSettings
    public let sampler: NegativeSampler

    /// Nil when the spec's popularity counts cannot be used.
    public init?(spec: TrainingSpec) {
        guard let sampler = spec.negativeSampler else { return nil }
        self.spec = spec
        loss = spec.loss
        self.sampler = sampler
    }

    /// The negatives of a minibatch: K bank rows for the bank losses, one live item per pair for BPR, none for
    /// pure in-batch losses. Drawn from the minibatch's own stream, so every worker draws the same.
    public func draw(for task: MinibatchTask) -> (ids: [UInt32], logQ: [Float]?) {
        var random = negativeStream(seed: spec.seed, epoch: task.epoch, minibatch: task.minibatch)
        let count = loss.negativesDrawn(pairs: task.users.count)
        guard count > 0 else { return ([], nil) }
        let ids = sampler.sample(count: count, random: &random)
        let logQ = loss.logQCorrection && loss.kind != .bpr ? ids.map { sampler.logProbability($0) } : nil
        return (ids, logQ)
    }

    /// What the coordinator accepts as this task's GRADIENT: its users' rows, and the rows of its positives and of
    /// the negatives that the loss trains (BPR's, and live negatives; bank negatives are constants).
    public func contract(for task: MinibatchTask) -> GradientContract {
        let trained = loss.kind == .bpr || (loss.liveNegatives && loss.usesBankNegatives) ? draw(for: task).ids : []
        return spec.gradientContract(users: task.users, positives: task.items, trainedNegatives: trained)
    }
}
