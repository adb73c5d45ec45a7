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

/// The worker's shell: moves bytes between the socket and `WorkerMachine`, and carries out its directives with the
/// gradient computation. It keeps no copy of the parameters: each STEP brings the rows its tasks read.
public final class WorkerClient {
    private let settings: WorkerSettings
    private let logger: Logger
    private let endpoint: any DealerTransport
    private let clock: any ShellClock
    private var machine: WorkerMachine
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
            metrics.update(training: machine.phase == .ready, version: machine.lastVersion, traffic: endpoint.traffic)
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
                if computer?.spec != spec { computer = try TaskComputer(spec: spec) }
                verifyReplicas = spec.verifyReplicas
            case let .compute(step):
                try compute(step)
            case .discardState:
                cache = (0, 0, [:])
            case let .exit(code, reason):
                logger.info("stopping: \(reason)")
                return WorkerReport(exitCode: code, reason: reason, tasksComputed: computed,
                                    tasksAnsweredFromCache: fromCache)
            case let .refused(refusal):
                noteRefusal(refusal)
            case let .note(text):
                logger.debug("\(text)")
            }
        }
        return nil
    }

    /// Counts a refused message from the coordinator, and logs it at most once a second per kind.
    private func noteRefusal(_ refusal: Refusal) {
        metrics.rejected(reason: refusal.key)
        refusals[refusal.key, default: 0] += 1
        let now = clock.now()
        if now - (refusalLoggedAt[refusal.key] ?? -.infinity) >= 1 {
            refusalLoggedAt[refusal.key] = now
            logger.warning("refused a message from the coordinator (\(refusals[refusal.key]!) so far): \(refusal)")
        }
    }

    /// Computes the STEP's tasks (a resent STEP's from the cache) and sends their gradients. The rows are checked
    /// only for the tasks computed: a STEP that lacks a row a task reads is refused whole.
    private func compute(_ step: Step) throws {
        guard let computer, let spec = machine.spec else {
            logger.warning("asked to compute step \(step.step) before joining a run; skipped")
            return
        }
        if cache.step != step.step || cache.version != step.version { cache = (step.step, step.version, [:]) }
        var rows: StepRows?
        var answers: [Gradient] = []
        for task in step.tasks {
            let key = TaskKey(epoch: task.epoch, minibatch: task.minibatch)
            if let cached = cache.gradients[key] {
                fromCache += 1
                metrics.answeredFromCache()
                answers.append(cached)
                continue
            }
            if rows == nil { rows = StepRows(step, dim: spec.dim) }
            let started = clock.now()
            do {
                let hash = verifyReplicas ? computer.rowsHash(for: task, of: step) : 0
                let gradient = try computer.gradient(for: task, of: step, rows: rows!, hash: hash)
                metrics.minibatchComputed(seconds: clock.now() - started)
                cache.gradients[key] = gradient
                computed += 1
                answers.append(gradient)
            } catch {
                noteRefusal(error)
                return
            }
        }
        for gradient in answers { try send(.gradient(gradient)) }
    }
}

/// Why a worker stopped on its own: one sentence for the user.
public struct TrainerWorkerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
