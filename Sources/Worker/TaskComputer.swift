import Kernels
import Replication
import Wire

/// Turns a task (a minibatch of pairs) into its GRADIENT against the replica.
public final class TaskComputer {
    public let spec: TrainingSpec
    public let loss: LossSettings
    public let sampler: NegativeSampler
    private let computer: MinibatchGradientComputer

    public struct SpecError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(spec: TrainingSpec) throws {
        guard let loss = spec.lossSettings else {
            throw SpecError(description: "unknown loss \(spec.loss) or similarity \(spec.similarity) in WELCOME")
        }
        guard let sampler = spec.negativeSampler else {
            throw SpecError(description: "unknown sampler \(spec.sampler), or popularity counts missing or unusable (alpha \(spec.popularityAlpha)), in WELCOME")
        }
        let seen: SeenItems?
        do { seen = try spec.seenItemLists() } catch { throw SpecError(description: "\(error) in WELCOME") }
        self.spec = spec
        self.loss = loss
        self.sampler = sampler
        computer = MinibatchGradientComputer(settings: loss, dim: spec.dim, seenItems: seen)
    }

    /// The negatives of a minibatch: K bank rows for the bank losses, one live item per pair for BPR, none for
    /// pure in-batch losses. Drawn from the minibatch's own stream, so every worker draws the same.
    public func negatives(for task: MinibatchTask) -> (ids: [UInt32], logQ: [Float]?) {
        var random = negativeStream(seed: spec.seed, epoch: task.epoch, minibatch: task.minibatch)
        let count: Int
        switch loss.kind {
        case .bankInfoNCE, .ccl: count = loss.negatives
        case .inBatchInfoNCE: count = loss.mixInBatch ? loss.negatives : 0
        case .mnr: count = 0
        case .bpr: count = task.users.count
        }
        guard count > 0 else { return ([], nil) }
        let ids = sampler.sample(count: count, random: &random)
        let logQ = loss.logQCorrection && loss.kind != .bpr ? ids.map { sampler.logProbability($0) } : nil
        return (ids, logQ)
    }

    public func gradient(for task: MinibatchTask, step: UInt64, replica: Replica, hash: UInt64) -> Gradient {
        precondition(task.users.count == task.items.count, "task with \(task.users.count) users, \(task.items.count) items")
        let (negatives, logQ) = negatives(for: task)
        let g = computer.compute(users: task.users, items: task.items, userTable: replica.users,
                                 itemTable: replica.items, bank: replica.bank.table, negatives: negatives,
                                 negativeLogQ: logQ)
        return Gradient(step: step, version: replica.version ?? 0, epoch: task.epoch, minibatch: task.minibatch,
                        examples: UInt32(g.examples), lossSum: g.lossSum, replicaHash: hash,
                        users: RowBlock(g.users), items: RowBlock(g.items))
    }
}
