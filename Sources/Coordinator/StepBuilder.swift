import Dataset
import Kernels
import Replication
import RunSettings
import Wire

/// The current step's work: its tasks materialised from the epoch plan (once each), the rows each task reads, the
/// rule each task's GRADIENT must satisfy, the gradients accepted for it, and its STEP messages. Emptied when the
/// step is applied.
struct StepBuilder {
    private let seed: UInt64
    private let minibatchSize: Int
    private let interactionCount: Int
    private let trainUsers: [UInt32]
    private let trainItems: [UInt32]
    private let negatives: TaskNegatives
    private var plan: (epoch: Int, plan: EpochPlan)?
    private var tasks: [TaskKey: MinibatchTask] = [:]
    /// The rows each task reads (`TaskReads`), derived when the task is first sent.
    private var reads: [TaskKey: TaskReads] = [:]
    /// The rows the next step's tasks will read, derived while this step's workers compute (`prepare`).
    private var upcoming: [TaskKey: TaskReads] = [:]
    /// What each task's GRADIENT must satisfy (`GradientContract`), derived when the task is first checked.
    private var contracts: [TaskKey: GradientContract] = [:]
    private var accepted: [TaskKey: Gradient] = [:]
    /// With shards: the norms of the rows the current step's STEPs carried, for its contracts.
    private var sentNorms = SentRowNorms()

    init(seed: UInt64, minibatchSize: Int, data: InteractionData, negatives: TaskNegatives) {
        self.seed = seed
        self.minibatchSize = minibatchSize
        interactionCount = data.trainCount
        trainUsers = data.trainUsers
        trainItems = data.trainItems
        self.negatives = negatives
    }

    /// The loss whose negatives the steps carry.
    var negativesLoss: LossSettings { negatives.loss }

    /// Task `key` of the current step.
    mutating func task(_ key: TaskKey) -> MinibatchTask {
        if let task = tasks[key] { return task }
        let task = materialise(key)
        tasks[key] = task
        return task
    }

    /// Task `key` built from the epoch plan (not kept).
    private mutating func materialise(_ key: TaskKey) -> MinibatchTask {
        let indices = interactions(key)
        return MinibatchTask(epoch: key.epoch, minibatch: key.minibatch, users: indices.map { trainUsers[Int($0)] },
                             items: indices.map { trainItems[Int($0)] })
    }

    /// The training-set indices of minibatch `key`.
    mutating func interactions(_ key: TaskKey) -> ArraySlice<UInt32> {
        if plan?.epoch != Int(key.epoch) {
            plan = (Int(key.epoch), EpochPlan(seed: seed, epoch: Int(key.epoch), interactionCount: interactionCount,
                                              minibatchSize: minibatchSize))
        }
        return plan!.plan.interactions(inMinibatch: Int(key.minibatch))
    }

    /// The rows task `key` reads.
    mutating func reads(_ key: TaskKey) -> TaskReads {
        if let known = reads[key] { return known }
        if let early = upcoming.removeValue(forKey: key) {
            reads[key] = early
            return early
        }
        let task = task(key)
        let read = negatives.reads(for: task, negatives: negatives.draw(for: task).ids)
        reads[key] = read
        return read
    }

    /// The STEP of step `step` carrying these tasks and the rows they read from `store`, brought to the step's
    /// version first (dense Adam's rows catch up on the steps they missed when they are read).
    mutating func message(step: UInt64, tasks keys: [TaskKey], store: ParameterStore) throws -> Step {
        let rows = TaskReads.union(keys.map { reads($0) })
        let read = try store.stepRows(rows, bankAtLiveLength: negatives.loss.readsBankAtLiveLength)
        if store.local == nil { sentNorms.add(read) }
        return Step(step: step, version: store.version, users: RowBlock(read.users), items: RowBlock(read.items),
                    bank: RowBlock(read.bank), tasks: keys.map { task($0) })
    }

    /// While the workers compute the current step, brings the rows that the next step's tasks `keys` will read up to
    /// the current version, so that building the next STEPs has at most the current step left to catch up (dense
    /// Adam). A row's catch-up depends only on its own state and each step's factor, so doing it earlier changes
    /// no bit. Tasks of another epoch than the plan in hand are left for later.
    mutating func prepare(_ keys: [TaskKey], store: ParameterStore) throws {
        upcoming.removeAll(keepingCapacity: true)
        guard let epoch = plan?.epoch else { return }
        for key in keys where Int(key.epoch) == epoch {
            let task = materialise(key)
            upcoming[key] = negatives.reads(for: task, negatives: negatives.draw(for: task).ids)
        }
        try store.prefetch(TaskReads.union(Array(upcoming.values)), bankAtLiveLength: negatives.loss.readsBankAtLiveLength)
    }

    /// Reads the rows of all the STEPs about to go out for tasks `keys` at once (with shards: one exchange for the
    /// step instead of one per STEP); `message` then takes its rows from them.
    mutating func fetchRows(_ keys: [TaskKey], store: ParameterStore) throws {
        try store.fetchStepRows(TaskReads.union(keys.map { reads($0) }),
                                bankAtLiveLength: negatives.loss.readsBankAtLiveLength)
    }

    /// The rule a GRADIENT for a task of the current step breaks, or nil; its value bound comes from the norms of
    /// the task's rows in `store` at the step's version.
    mutating func refusal(of gradient: Gradient, store: ParameterStore) -> Refusal? {
        contract(TaskKey(epoch: gradient.epoch, minibatch: gradient.minibatch), store: store).refusal(of: gradient)
    }

    /// The contract of task `key` of the current step, derived at the step's version on first use: from the
    /// coordinator's tables, or with shards from the rows its STEP carried.
    private mutating func contract(_ key: TaskKey, store: ParameterStore) -> GradientContract {
        if let contract = contracts[key] { return contract }
        let contract: GradientContract
        if let state = store.local {
            contract = negatives.contract(for: task(key), users: state.users, items: state.items, bank: state.bank.table)
        } else {
            contract = negatives.contract(for: task(key), norms: sentNorms)
        }
        contracts[key] = contract
        return contract
    }

    /// Derives the contracts of the tasks sent so far in the current step, while their workers compute, so that
    /// checking their GRADIENTs costs only the check. The state holds the step's version until it is applied, so
    /// the contracts are those that checking on arrival would derive.
    mutating func prepareContracts(store: ParameterStore) {
        for key in tasks.keys where contracts[key] == nil { _ = contract(key, store: store) }
    }

    mutating func accept(_ gradient: Gradient) {
        accepted[TaskKey(epoch: gradient.epoch, minibatch: gradient.minibatch)] = gradient
    }

    /// The accepted gradients of `keys`, in that order, with their minibatches' interactions, for applying.
    mutating func contributions(_ keys: [TaskKey], step: UInt64)
        -> [(contribution: MinibatchContribution, gradient: Gradient, interactions: ArraySlice<UInt32>)]
    {
        keys.map { key in
            guard let g = accepted[key], let task = tasks[key] else {
                preconditionFailure("step \(step) applied without the gradient of \(key)")
            }
            precondition(Int(g.examples) == task.users.count,
                         "gradient of \(key) counts \(g.examples) examples; the minibatch has \(task.users.count)")
            return (MinibatchContribution(examples: Int(g.examples), lossSum: g.lossSum, users: SparseRows(g.users),
                                          items: SparseRows(g.items), positives: task.items,
                                          trainedBankNegatives: followedNegatives(key, gradient: g)),
                    g, interactions(key))
        }
    }

    /// The negatives of task `key` whose bank rows follow their item rows after the step: with hard negatives every
    /// item row the GRADIENT holds (its positives, its trained negatives, the hard negatives its pairs chose), with
    /// trained bank negatives the K drawn, else none.
    private mutating func followedNegatives(_ key: TaskKey, gradient: Gradient) -> [UInt32] {
        if negatives.loss.minesHardNegatives { return gradient.items.ids }
        return negatives.loss.trainedBankNegatives ? reads(key).bank : []
    }

    /// The step was applied: its tasks, contracts and gradients go.
    mutating func clear() {
        accepted.removeAll(keepingCapacity: true)
        tasks.removeAll(keepingCapacity: true)
        reads.removeAll(keepingCapacity: true)
        contracts.removeAll(keepingCapacity: true)
        sentNorms = SentRowNorms()
    }
}

/// The norms of the rows a step's STEPs carried (with shards the coordinator holds no table): a live item row not
/// among them was sent as a bank row at its live length (trained bank negatives, the hard-negative pool), whose norm
/// is that length.
struct SentRowNorms: RowNorms {
    private var userNorms: [UInt32: Float] = [:]
    private var itemNorms: [UInt32: Float] = [:]
    private var bankNorms: [UInt32: Float] = [:]

    mutating func add(_ read: (users: SparseRows, items: SparseRows, bank: SparseRows)) {
        Self.add(read.users, to: &userNorms)
        Self.add(read.items, to: &itemNorms)
        Self.add(read.bank, to: &bankNorms)
    }

    private static func add(_ rows: SparseRows, to norms: inout [UInt32: Float]) {
        let d = rows.dim
        rows.values.withUnsafeBufferPointer { values in
            for (k, id) in rows.ids.enumerated() {
                var sum: Float = 0
                for j in 0 ..< d { sum += values[k * d + j] * values[k * d + j] }
                norms[id] = sum.squareRoot()
            }
        }
    }

    private static func range(_ ids: [UInt32], _ lookup: (UInt32) -> Float?) -> (min: Float, max: Float) {
        var low = Float.infinity, high: Float = 0
        for id in ids {
            // A row that no STEP carried bounds nothing: taken as 0 for the smallest norm and ∞ for the largest,
            // either of which makes the value bound infinite (no bound) rather than too tight.
            guard let norm = lookup(id) else {
                low = 0
                high = .infinity
                continue
            }
            low = Swift.min(low, norm)
            high = Swift.max(high, norm)
        }
        return (low, high)
    }

    func users(_ ids: [UInt32]) -> (min: Float, max: Float) { Self.range(ids) { userNorms[$0] } }
    func items(_ ids: [UInt32]) -> (min: Float, max: Float) { Self.range(ids) { itemNorms[$0] ?? bankNorms[$0] } }
    func bank(_ ids: [UInt32]) -> (min: Float, max: Float) { Self.range(ids) { bankNorms[$0] } }
}
