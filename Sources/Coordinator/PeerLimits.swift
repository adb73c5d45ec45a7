/// What one peer may cost the coordinator: how many members it admits, how many snapshots it sends at once and to
/// whom, how long a task may stay unanswered, and how many refused messages a member may send before it is dropped.
public struct PeerLimits: Sendable, Equatable {
    /// Members admitted at once (`--max-workers`); a further HELLO is refused (REJECT 7).
    public var maxWorkers: Int
    /// Members receiving a snapshot at the same time; others wait their turn (holding nothing meanwhile).
    public var concurrentSnapshots: Int
    /// A member's snapshot slot is given up after this long without it becoming ready.
    public var snapshotTimeout: Double
    /// Snapshots a member may be sent without becoming ready in between; one more request drops it.
    public var snapshotsWithoutProgress: Int
    /// A SYNC or repeated HELLO sooner than this after the member's last snapshot is ignored (REJECT 6).
    public var minimumSnapshotInterval: Double
    /// A task unanswered this long after it was assigned marks its assignee as hung: it is declared dead and
    /// the task goes to another member (`--task-timeout`).
    public var taskDeadline: Double
    /// Refused messages (decoded, but breaking a rule) after which a member is dropped (REJECT 8).
    public var maxRefusals: Int

    public init(maxWorkers: Int = 256, concurrentSnapshots: Int = 2, snapshotTimeout: Double = 10,
                snapshotsWithoutProgress: Int = 3, minimumSnapshotInterval: Double = 1, taskDeadline: Double = 60,
                maxRefusals: Int = 3) {
        precondition(maxWorkers >= 1 && concurrentSnapshots >= 1 && snapshotsWithoutProgress >= 1 && maxRefusals >= 1,
                     "peer limits must be at least 1")
        precondition(taskDeadline > 0 && snapshotTimeout > 0 && minimumSnapshotInterval >= 0, "peer time limits must be positive")
        self.maxWorkers = maxWorkers
        self.concurrentSnapshots = concurrentSnapshots
        self.snapshotTimeout = snapshotTimeout
        self.snapshotsWithoutProgress = snapshotsWithoutProgress
        self.minimumSnapshotInterval = minimumSnapshotInterval
        self.taskDeadline = taskDeadline
        self.maxRefusals = maxRefusals
    }
}
