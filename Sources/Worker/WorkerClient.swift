import Foundation
import Kernels
import Logging
import Replication
import RunSettings
import Transport
import Wire

/// How a worker process runs.
public struct WorkerSettings: Sendable {
    /// The coordinator's endpoint, `tcp://HOST:PORT`.
    public var coordinator: String
    public var name: String
    public var maxMessageBytes: Int
    public var timings: WorkerMachine.Timings
    /// Fault injection on this worker's sends (`drop=0.05,...`); nil for none.
    public var faults: FaultSettings?
    /// CurveZMQ: this worker's key pair and the coordinator's public key; nil = plain text.
    public var curve: CurveClient?
    /// Stop with an error after this long without a coordinator; nil: keep trying.
    public var giveUpAfter: Double?
    /// What this worker can hold and compute (`--max-memory` sets `memoryBytes`); larger runs are refused.
    public var limits = InputLimits()

    public init(coordinator: String, name: String, maxMessageBytes: Int = 1 << 30,
                timings: WorkerMachine.Timings = .init(), faults: FaultSettings? = nil) {
        self.coordinator = coordinator
        self.name = name
        self.maxMessageBytes = maxMessageBytes
        self.timings = timings
        self.faults = faults
    }
}

/// What a worker did before it stopped.
public struct WorkerReport: Sendable {
    public var exitCode: Int32
    public var reason: String
    public var tasksComputed: Int
    public var tasksAnsweredFromCache: Int
}

/// The worker's shell: moves bytes between the socket and `WorkerMachine`, and carries out its directives on the
/// replica and the gradient computation.
public final class WorkerClient {
    private let settings: WorkerSettings
    private let logger: Logger
    private let endpoint: any DealerTransport
    private let clock: any ShellClock
    private var machine: WorkerMachine
    private var replica: Replica?
    private var computer: TaskComputer?
    private var verifyReplicas = false
    private var sequence: UInt64 = 0
    /// Gradients of the current step and version, by minibatch: a resent STEP is answered from here.
    private var cache: (step: UInt64, version: UInt64, gradients: [TaskKey: Gradient]) = (0, 0, [:])
    private var joiningSince: Double?
    private var lastWaitingNotice = 0.0
    private var computed = 0
    private var fromCache = 0
    /// Messages from the coordinator refused by key, and when each key was last logged.
    public private(set) var refusals: [String: Int] = [:]
    private var refusalLoggedAt: [String: Double] = [:]
    /// Where the operator's figures go (Prometheus, from the executable); nothing is counted by default.
    public var metrics: any WorkerMetrics = WorkerMetricsOff()

    /// `transport`: where the messages go; nil connects a ZeroMQ DEALER to `settings.coordinator`. `clock`: the only
    /// clock the shell reads.
    public init(settings: WorkerSettings, logger: Logger, transport: (any DealerTransport)? = nil,
                clock: any ShellClock = SystemClock()) throws {
        self.settings = settings
        self.logger = logger
        self.clock = clock
        let incarnation = UInt64.random(in: 1 ... .max)
        endpoint = try transport ?? DealerEndpoint(
            connect: settings.coordinator, maxMessageBytes: settings.maxMessageBytes, logger: logger,
            options: EndpointOptions(faults: settings.faults ?? .none, curve: settings.curve.map { .client($0) }))
        machine = WorkerMachine(incarnation: incarnation, name: settings.name, timings: settings.timings,
                                 limits: settings.limits, now: clock.now())
    }

    /// Runs until the coordinator says SHUTDOWN (or refuses this worker), or until `stopRequested` gives a reason
    /// (`SIGTERM`): the tasks in hand are finished and sent first.
    public func run(stopRequested: () -> String? = { nil }) throws -> WorkerReport {
        defer { endpoint.close() }
        logger.info("worker \(settings.name) connecting to \(settings.coordinator)")
        while true {
            if let reason = stopRequested() {
                logger.notice("\(reason): leaving after \(computed) minibatches")
                // The gradients just sent may still be queued (sockets close with LINGER 0): give them time to leave.
                let flushUntil = clock.now() + 0.3
                while clock.now() < flushUntil { _ = try? endpoint.receive(timeoutMilliseconds: 50) }
                return WorkerReport(exitCode: 0, reason: reason, tasksComputed: computed, tasksAnsweredFromCache: fromCache)
            }
            var directives = machine.tick(now: clock.now())
            try noticeLongWait()
            if let received = try endpoint.receive(timeoutMilliseconds: 50) {
                switch received {
                case let .message(_, envelope):
                    directives += machine.received(envelope.message, now: clock.now())
                case let .malformed(_, error):
                    metrics.rejected(reason: "malformed")
                    logger.warning("rejected a malformed message from the coordinator: \(error)")
                }
            }
            if case .ready = machine.phase {
                metrics.update(training: true, replicaVersion: replica?.version ?? 0, traffic: endpoint.traffic)
            } else {
                metrics.update(training: false, replicaVersion: replica?.version ?? 0, traffic: endpoint.traffic)
            }
            if let report = try execute(directives) { return report }
        }
    }

    /// A worker that cannot reach its coordinator says so every 30 s rather than waiting silently.
    private func noticeLongWait() throws {
        guard machine.phase == .joining else {
            joiningSince = nil
            return
        }
        let now = clock.now()
        guard let since = joiningSince else {
            joiningSince = now
            lastWaitingNotice = now
            return
        }
        if let limit = settings.giveUpAfter, now - since >= limit {
            throw TrainerWorkerError("no coordinator at \(settings.coordinator) for \(Int(now - since)) s (--give-up-after \(Int(limit))); giving up")
        }
        if now - lastWaitingNotice >= 30 {
            lastWaitingNotice = now
            logger.warning("no answer from the coordinator at \(settings.coordinator) for \(Int(now - since)) s; still trying")
        }
    }

    private func send(_ message: Message) throws {
        sequence += 1
        try endpoint.send(Envelope(sender: machine.workerId, sequence: sequence, message: message))
    }

    private func execute(_ initial: [WorkerDirective]) throws -> WorkerReport? {
        var queue = initial[...]
        while let directive = queue.popFirst() {
            switch directive {
            case let .send(message):
                try send(message)
            case let .configure(workerId, runId, spec):
                logger.info("joined as worker \(workerId) of run \(String(runId, radix: 16)): \(spec.users) users, \(spec.items) items, d \(spec.dim)")
                if replica == nil || replica!.users.rows != spec.users || replica!.items.rows != spec.items
                    || replica!.users.dim != spec.dim {
                    replica = Replica(userCount: spec.users, itemCount: spec.items, dim: spec.dim)
                }
                if computer?.spec != spec { computer = try TaskComputer(spec: spec) }
                verifyReplicas = spec.verifyReplicas
            case let .storeSnapshotChunk(chunk):
                guard let replica else { continue }
                do {
                    if case let .complete(version) = try replica.receive(chunk) {
                        logger.debug("snapshot at version \(version) loaded")
                        queue.append(contentsOf: machine.snapshotLoaded(version: version, now: clock.now()))
                    }
                } catch {
                    logger.error("\(error); asking for a new snapshot")
                    try send(.sync(haveVersion: 0))
                }
            case let .applyDelta(step):
                replica!.apply(baseVersion: step.baseVersion, version: step.version, users: step.userDelta,
                               items: step.itemDelta, bank: step.bankDelta)
            case let .compute(step, version, tasks):
                try compute(step: step, version: version, tasks: tasks)
            case .discardState:
                replica?.invalidate()
                cache = (0, 0, [:])
            case let .exit(code, reason):
                logger.info("stopping: \(reason)")
                return WorkerReport(exitCode: code, reason: reason, tasksComputed: computed,
                                    tasksAnsweredFromCache: fromCache)
            case let .refused(refusal):
                metrics.rejected(reason: refusal.key)
                refusals[refusal.key, default: 0] += 1
                let now = clock.now()
                if now - (refusalLoggedAt[refusal.key] ?? -.infinity) >= 1 {
                    refusalLoggedAt[refusal.key] = now
                    logger.warning("refused a message from the coordinator (\(refusals[refusal.key]!) so far): \(refusal)")
                }
            case let .note(text):
                logger.debug("\(text)")
            }
        }
        return nil
    }

    private func compute(step: UInt64, version: UInt64, tasks: [MinibatchTask]) throws {
        guard let replica, let computer, replica.version == version else {
            logger.warning("asked to compute step \(step) at version \(version) without that replica; skipped")
            return
        }
        if cache.step != step || cache.version != version { cache = (step, version, [:]) }
        let hash = verifyReplicas ? replica.contentHash() : 0
        for task in tasks {
            let key = TaskKey(epoch: task.epoch, minibatch: task.minibatch)
            if let cached = cache.gradients[key] {
                fromCache += 1
                metrics.answeredFromCache()
                try send(.gradient(cached))
                continue
            }
            let started = MonotonicClock.now()
            let gradient = computer.gradient(for: task, step: step, replica: replica, hash: hash)
            metrics.minibatchComputed(seconds: MonotonicClock.now() - started)
            cache.gradients[key] = gradient
            computed += 1
            try send(.gradient(gradient))
        }
    }
}

/// Why a worker stopped on its own: one sentence for the user.
public struct TrainerWorkerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
