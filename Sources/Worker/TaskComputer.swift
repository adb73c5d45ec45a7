import Kernels
import Replication
import RunSettings
import Wire

/// Turns a task (a minibatch of pairs) into its GRADIENT, from the rows its STEP carried.
public final class TaskComputer {
    public let spec: TrainingSpec
    public let loss: LossSettings
    public let sampler: NegativeSampler
    private let computer: MinibatchGradientComputer
    private let drawing: TaskNegatives

    public struct SpecError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(spec: TrainingSpec) throws {
        let loss = spec.loss
        guard let sampler = spec.negativeSampler, let drawing = TaskNegatives(spec: spec) else {
            throw SpecError(description: "\(spec.sampler) sampler with popularity counts missing or unusable (alpha \(spec.popularityAlpha)) in WELCOME")
        }
        let seen: SeenItems?
        do { seen = try spec.seenItemLists() } catch { throw SpecError(description: "\(error) in WELCOME") }
        self.spec = spec
        self.loss = loss
        self.sampler = sampler
        self.drawing = drawing
        computer = MinibatchGradientComputer(settings: loss, dim: spec.dim, seenItems: seen)
    }

    /// With `--verify-replicas`: the hash of the rows `task` reads, as `step` carries them (0 when it lacks one).
    public func rowsHash(for task: MinibatchTask, of step: Step) -> UInt64 {
        TablesHash.of(reads: drawing.reads(for: task, negatives: drawing.draw(for: task).ids), in: step) ?? 0
    }

    /// The negatives of a minibatch (see `TaskNegatives.draw`).
    public func negatives(for task: MinibatchTask) -> (ids: [UInt32], logQ: [Float]?) { drawing.draw(for: task) }

    /// The GRADIENT of `task` of STEP `step`, reading its rows from `rows` (the STEP's blocks); a refusal when the
    /// STEP does not carry a row the task reads.
    public func gradient(for task: MinibatchTask, of step: Step, rows: StepRows, hash: UInt64) throws(Refusal) -> Gradient {
        precondition(task.users.count == task.items.count, "task with \(task.users.count) users, \(task.items.count) items")
        let (negatives, logQ) = negatives(for: task)
        let pool = drawing.pool(for: task)
        let located = try rows.rows(users: task.users, items: task.items, negatives: negatives,
                                   negativesFromItems: drawing.negativesFromItems, pool: pool)
        let g = computer.compute(users: task.users, items: task.items, negatives: negatives, rows: located,
                                 negativeLogQ: logQ, pool: pool)
        return Gradient(step: step.step, version: step.version, epoch: task.epoch, minibatch: task.minibatch,
                        examples: UInt32(g.examples), lossSum: g.lossSum, rowsHash: hash,
                        users: RowBlock(g.users), items: RowBlock(g.items))
    }
}
