/// What one peer may cost the coordinator: how many members it admits, how often it answers a member's HELLO, how
/// long a task may stay unanswered, and how many refused messages a member may send before it is dropped.
public struct PeerLimits: Sendable, Equatable {
    /// Members admitted at once (`--max-workers`); a further HELLO is refused (REJECT 7).
    public var maxWorkers: Int
    /// A repeated HELLO of a member sooner than this after its last WELCOME is refused (REJECT 6): WELCOME can be
    /// megabytes (the seen items).
    public var minimumWelcomeInterval: Double
    /// A task unanswered this long after it was assigned marks its assignee as hung: it is declared dead and
    /// the task goes to another member (`--task-timeout`).
    public var taskDeadline: Double
    /// Refused messages (decoded, but breaking a rule) after which a member is dropped (REJECT 8).
    public var maxRefusals: Int

    public init(maxWorkers: Int = 256, minimumWelcomeInterval: Double = 1, taskDeadline: Double = 60,
                maxRefusals: Int = 3) {
        precondition(maxWorkers >= 1 && maxRefusals >= 1, "peer limits must be at least 1")
        precondition(taskDeadline > 0 && minimumWelcomeInterval >= 0, "peer time limits must be positive")
        self.maxWorkers = maxWorkers
        self.minimumWelcomeInterval = minimumWelcomeInterval
        self.taskDeadline = taskDeadline
        self.maxRefusals = maxRefusals
    }
}
