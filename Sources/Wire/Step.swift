/// One minibatch assigned to a worker: the (user, positive item) pairs of minibatch `minibatch` of `epoch`.
///
/// Wire form: u32 epoch, u32 minibatch, u32 pairCount, pairCount × u32 users, pairCount × u32 items.
public struct MinibatchTask: Equatable, Sendable {
    public var epoch: UInt32
    public var minibatch: UInt32
    public var users: [UInt32]
    public var items: [UInt32]

    public init(epoch: UInt32, minibatch: UInt32, users: [UInt32], items: [UInt32]) {
        precondition(users.count == items.count, "MinibatchTask: \(users.count) users but \(items.count) items")
        self.epoch = epoch
        self.minibatch = minibatch
        self.users = users
        self.items = items
    }
}

/// The coordinator's order for one global step to one worker: compute a gradient for each task against the
/// parameters at `version`, reading them from the rows this message carries. The blocks hold, ids strictly
/// ascending, every row the tasks read and nothing else (`TaskReads`): `users` the tasks' users, `items` the
/// item-table rows (positives, and the negatives of losses that train them), `bank` the bank rows of the
/// negatives that are read from the bank. A worker keeps no other copy of the parameters.
///
/// Wire form (STEP): u64 step, u64 version, rows users, rows items, rows bank, u32 taskCount, taskCount × task.
public struct Step: Equatable, Sendable {
    public var step: UInt64
    public var version: UInt64
    public var users: RowBlock
    public var items: RowBlock
    public var bank: RowBlock
    public var tasks: [MinibatchTask]

    public init(step: UInt64, version: UInt64, users: RowBlock, items: RowBlock, bank: RowBlock,
                tasks: [MinibatchTask]) {
        self.step = step
        self.version = version
        self.users = users
        self.items = items
        self.bank = bank
        self.tasks = tasks
    }
}

extension Step {
    /// The smallest encoding of one task: epoch, minibatch and pairCount.
    static let minimumTaskBytes = 12

    func write(to w: inout ByteWriter) {
        w.u64(step)
        w.u64(version)
        users.write(to: &w)
        items.write(to: &w)
        bank.write(to: &w)
        w.u32(tasks.count, "task count")
        for task in tasks {
            precondition(task.users.count == task.items.count, "MinibatchTask: \(task.users.count) users but \(task.items.count) items")
            w.u32(task.epoch)
            w.u32(task.minibatch)
            w.u32(task.users.count, "task pair count")
            w.u32s(task.users)
            w.u32s(task.items)
        }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> Step {
        let step = try r.u64("step")
        let version = try r.u64("step version")
        let users = try RowBlock.read(from: &r, "step users")
        let items = try RowBlock.read(from: &r, "step items")
        let bank = try RowBlock.read(from: &r, "step bank")
        let taskCount = try r.count("step task count")
        guard taskCount <= r.remaining / minimumTaskBytes else { throw .truncated(what: "step tasks (\(taskCount) declared)") }
        var tasks: [MinibatchTask] = []
        tasks.reserveCapacity(taskCount)
        for k in 0..<taskCount {
            let epoch = try r.u32("task \(k) epoch")
            let minibatch = try r.u32("task \(k) minibatch")
            let pairs = try r.count("task \(k) pair count")
            guard pairs <= r.remaining / 8 else { throw .truncated(what: "task \(k) pairs (\(pairs) declared)") }
            let taskUsers = try r.u32s(pairs, "task \(k) users")
            let taskItems = try r.u32s(pairs, "task \(k) items")
            tasks.append(MinibatchTask(epoch: epoch, minibatch: minibatch, users: taskUsers, items: taskItems))
        }
        return Step(step: step, version: version, users: users, items: items, bank: bank, tasks: tasks)
    }
}
