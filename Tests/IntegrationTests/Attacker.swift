import Foundation
import Logging
import Transport
import Wire

/// A peer that speaks the protocol to a real coordinator and breaks its rules on purpose: it joins, heartbeats at
/// the newest version it has seen (so the coordinator counts it ready and gives it tasks), and then answers with
/// whatever a test tells it to.
final class Attacker {
    let endpoint: DealerEndpoint
    let incarnation = UInt64.random(in: 1 ... .max)
    private var sequence: UInt64 = 0
    private(set) var workerId: UInt32?
    private(set) var spec: TrainingSpec?
    private(set) var version: UInt64 = 0
    private(set) var rejects: [RejectReason] = []
    private(set) var resets = 0
    var welcomes = 0
    /// The newest STEP that gave this peer tasks.
    private(set) var assigned: Step?
    private var lastHeartbeat = Date.distantPast

    init(port: Int) throws {
        var logger = Logger(label: "attacker")
        logger.logLevel = .critical
        endpoint = try DealerEndpoint(connect: "tcp://127.0.0.1:\(port)", maxMessageBytes: 1 << 30, logger: logger)
    }

    deinit { endpoint.close() }

    func send(_ message: Message, sender: UInt32? = nil) throws {
        sequence += 1
        _ = try endpoint.send(Envelope(sender: sender ?? workerId ?? 0, sequence: sequence, message: message))
    }

    func hello(name: String) throws {
        try send(.hello(incarnation: incarnation, lastVersion: 0, runId: 0, workerName: name))
    }

    /// Says HELLO (again every 0.3 s: a DEALER drops what it sends before its connection is up) until WELCOME.
    func join(name: String, heartbeat: Bool = true, timeout: Double = 20) throws -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while workerId == nil, Date() < end {
            try hello(name: name)
            try pump(seconds: 0.3, heartbeat: heartbeat, until: { workerId != nil })
        }
        return workerId != nil
    }

    /// Handles what arrives for up to `seconds`, or until `done` holds; heartbeats every 0.2 s when `heartbeat`.
    @discardableResult
    func pump(seconds: Double, heartbeat: Bool = true, until done: () -> Bool = { false }) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if done() { return true }
            if heartbeat, workerId != nil, Date().timeIntervalSince(lastHeartbeat) > 0.2 {
                lastHeartbeat = Date()
                try send(.heartbeat(version: version))
            }
            guard case let .message(_, envelope)? = try endpoint.receive(timeoutMilliseconds: 20) else { continue }
            switch envelope.message {
            case let .welcome(id, _, current, spec):
                welcomes += 1
                workerId = id
                self.spec = spec
                version = max(version, current)
            case let .step(step):
                version = max(version, step.version)
                if !step.tasks.isEmpty { assigned = step }
            case let .heartbeat(v): version = max(version, v)
            case let .reject(reason, _): rejects.append(reason)
            case .reset: resets += 1
            default: break
            }
        }
        return done()
    }

    /// Joins and waits until the coordinator gives it a task of the current version.
    func joinAndTakeATask(name: String, timeout: Double = 60) throws -> (step: Step, task: MinibatchTask)? {
        guard try join(name: name) else { return nil }
        guard try pump(seconds: timeout, until: { assigned.map { $0.version == version } ?? false }),
              let step = assigned, let task = step.tasks.first else { return nil }
        return (step, task)
    }

    /// A gradient of the right shape for `task` (its users and positives, small values, a plausible loss), which
    /// a test then spoils.
    func plausibleGradient(for task: MinibatchTask, of step: Step) -> Gradient {
        let dim = spec!.dim
        let users = Array(Set(task.users)).sorted(), items = Array(Set(task.items)).sorted()
        return Gradient(step: step.step, version: step.version, epoch: task.epoch, minibatch: task.minibatch,
                        examples: UInt32(task.users.count), lossSum: Double(task.users.count),
                        users: RowBlock(dim: dim, ids: users, values: [Float](repeating: 1e-3, count: users.count * dim)),
                        items: RowBlock(dim: dim, ids: items, values: [Float](repeating: 1e-3, count: items.count * dim)))
    }
}
