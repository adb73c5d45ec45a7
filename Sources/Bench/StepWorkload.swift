import Coordinator
import Kernels
import MemoryBank
import RunSettings

/// The full single-process training step on synthetic tables: sample K bank negatives from the minibatch's seeded
/// stream, compute the loss and sparse gradients, average, Adam on the touched rows, move the positives' bank rows.
///
/// `.kernels` composes the step from Kernels and MemoryBank (what one process needs); `.state` routes the update
/// through the coordinator's `TrainingState.apply` (averager, optimizers, bank, the step's moved rows).
final class StepWorkload {
    enum Path: String, CaseIterable, Sendable { case kernels, state }

    let shape: StepShape
    let path: Path
    let state: TrainingState
    let sampler: NegativeSampler
    let computer: MinibatchGradientComputer
    /// A ring of pre-drawn minibatches (users, items), so that drawing pairs is not timed.
    private var batches: [(users: [UInt32], items: [UInt32])] = []
    private var negatives: [UInt32]
    private var version: UInt64 = 0
    /// Seconds spent in each phase since the last `resetPhases` (kernels path only).
    private(set) var phaseSeconds = [Double](repeating: 0, count: Phase.allCases.count)

    enum Phase: Int, CaseIterable { case sample, gradient, optimizer, bank }

    init(shape: StepShape, path: Path, ringSize: Int = 8) {
        self.shape = shape
        self.path = path
        state = TrainingState(userCount: shape.users, itemCount: shape.items, dim: shape.dim, initStd: 0.1,
                              seed: shape.seed, momentum: shape.momentum,
                              optimizer: OptimizerSettings(kind: .adam, learningRate: shape.learningRate))
        sampler = .uniform(items: shape.items)
        computer = MinibatchGradientComputer(
            settings: LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: shape.temperature,
                                   negatives: shape.negatives, removeAccidentalHits: true),
            dim: shape.dim)
        negatives = [UInt32](repeating: 0, count: shape.negatives)
        var random = SeededRandom(seed: shape.seed, stream: 0xBA7C)
        for _ in 0 ..< ringSize {
            var users = [UInt32](), items = [UInt32]()
            for _ in 0 ..< shape.batch {
                users.append(UInt32(random.nextInt(below: shape.users)))
                items.append(UInt32(random.nextInt(below: shape.items)))
            }
            batches.append((users, items))
        }
    }

    func minibatch(_ t: Int) -> (users: [UInt32], items: [UInt32]) { batches[t % batches.count] }

    /// The negatives of step t: drawn from the step's own seeded stream, like a worker does.
    func sampleNegatives(_ t: Int) -> [UInt32] {
        var random = SeededRandom(seed: shape.seed, stream: 0x4E45_47, UInt64(t))
        sampler.sample(into: &negatives, random: &random)
        return negatives
    }

    func resetPhases() { phaseSeconds = phaseSeconds.map { _ in 0 } }

    /// Runs training step t (with the given negatives instead of sampled ones, if any); returns the mean loss.
    @discardableResult
    func step(_ t: Int, negatives given: [UInt32]? = nil) -> Double {
        let (users, items) = minibatch(t)
        var clock = monotonicSeconds()
        func lap(_ phase: Phase) {
            let now = monotonicSeconds()
            phaseSeconds[phase.rawValue] += now - clock
            clock = now
        }
        let negatives = given ?? sampleNegatives(t)
        lap(.sample)
        var g = computer.compute(users: users, items: items, userTable: state.users, itemTable: state.items,
                                 bank: state.bank.table, negatives: negatives, negativeLogQ: nil)
        lap(.gradient)
        switch path {
        case .state:
            _ = state.apply([MinibatchContribution(examples: g.examples, lossSum: g.lossSum, users: g.users,
                                                   items: g.items, positives: items)])
            lap(.optimizer)
        case .kernels:
            let scale = 1 / Float(g.examples)
            scaleValues(&g.users, by: scale)
            scaleValues(&g.items, by: scale)
            state.userOptimizer.apply(g.users, to: state.users)
            state.itemOptimizer.apply(g.items, to: state.items)
            lap(.optimizer)
            version += 1
            state.bank.update(itemIds: items, itemTable: state.items, newVersion: version)
            lap(.bank)
        }
        return g.lossSum / Double(g.examples)
    }

    private func scaleValues(_ rows: inout SparseRows, by scale: Float) {
        rows.values.withUnsafeMutableBufferPointer { v in
            for i in v.indices { v[i] *= scale }
        }
    }
}
