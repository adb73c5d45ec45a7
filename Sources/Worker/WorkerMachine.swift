import Wire

/// What the worker's shell must do after an event.
public enum WorkerDirective: Sendable, Equatable {
    case send(Message)
    /// WELCOME arrived: (re)build the gradient computation for this spec.
    case configure(workerId: UInt32, runId: UInt64, spec: TrainingSpec)
    /// Compute (or answer from the cache) the STEP's tasks from the rows it carries.
    case compute(Step)
    /// Forget the gradients computed so far: the next WELCOME brings a new run.
    case discardState
    /// Training is over (or the coordinator refused us for good): exit with this status.
    case exit(code: Int32, reason: String)
    /// A message from the coordinator broke a rule of the run's spec and was not used: log (rate-limited), count.
    case refused(Refusal)
    case note(String)
}

/// The worker's protocol logic as a pure state machine: joining, checks on every STEP, heartbeats, and noticing a
/// vanished coordinator. A worker holds no copy of the parameters: each STEP carries the rows its tasks read. No
/// I/O, no clock: every event carries `now` in seconds.
public struct WorkerMachine: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Sending HELLO until WELCOME arrives.
        case joining
        /// Admitted: computing the tasks of the STEPs that arrive.
        case ready
        case exited
    }

    public struct Timings: Sendable, Equatable {
        public var heartbeatInterval: Double
        /// Silence from the coordinator after which the worker says HELLO again.
        public var coordinatorTimeout: Double
        /// First HELLO retry delay; doubles up to `maximumHelloInterval`.
        public var helloInterval: Double
        public var maximumHelloInterval: Double

        public init(heartbeatInterval: Double = 0.5, coordinatorTimeout: Double = 3, helloInterval: Double = 0.25,
                    maximumHelloInterval: Double = 4) {
            self.heartbeatInterval = heartbeatInterval
            self.coordinatorTimeout = coordinatorTimeout
            self.helloInterval = helloInterval
            self.maximumHelloInterval = maximumHelloInterval
        }
    }

    /// The exit status of a worker that cannot take part in the run it was offered.
    public static let unusableSpec: Int32 = 3

    public let incarnation: UInt64
    public let name: String
    public let timings: Timings
    /// What this worker can hold and compute; a spec or STEP beyond them is refused.
    public let limits: InputLimits
    /// The spec of the run joined (nil before WELCOME).
    public private(set) var spec: TrainingSpec?
    public private(set) var phase: Phase = .joining
    public private(set) var workerId: UInt32 = 0
    public private(set) var runId: UInt64 = 0
    /// The version of the last STEP taken (0: none in this run).
    public private(set) var lastVersion: UInt64 = 0
    private var lastHeard: Double
    private var lastHeartbeat: Double = -.infinity
    private var nextHello: Double
    private var helloDelay: Double

    public init(incarnation: UInt64, name: String, timings: Timings = Timings(), limits: InputLimits = InputLimits(),
                now: Double) {
        self.incarnation = incarnation
        self.name = name
        self.timings = timings
        self.limits = limits
        lastHeard = now
        nextHello = now
        helloDelay = timings.helloInterval
    }

    private var hello: Message {
        .hello(incarnation: incarnation, lastVersion: lastVersion, runId: runId, workerName: name)
    }

    // MARK: events

    public mutating func tick(now: Double) -> [WorkerDirective] {
        var out: [WorkerDirective] = []
        switch phase {
        case .exited:
            return []
        case .joining:
            if now >= nextHello {
                out.append(.send(hello))
                nextHello = now + helloDelay
                helloDelay = min(helloDelay * 2, timings.maximumHelloInterval)
            }
        case .ready:
            if now - lastHeard > timings.coordinatorTimeout {
                out.append(.note("no message from the coordinator for \(Int(now - lastHeard)) s; saying HELLO again"))
                phase = .joining
                helloDelay = timings.helloInterval
                nextHello = now
                return out + tick(now: now)
            }
            if now - lastHeartbeat >= timings.heartbeatInterval {
                lastHeartbeat = now
                out.append(.send(.heartbeat(version: lastVersion)))
            }
        }
        return out
    }

    public mutating func received(_ message: Message, now: Double) -> [WorkerDirective] {
        if phase == .exited { return [] }
        lastHeard = now
        switch message {
        case let .welcome(id, run, current, spec):
            return welcome(workerId: id, runId: run, currentVersion: current, spec: spec, now: now)
        case let .step(step):
            return self.step(step, now: now)
        case .heartbeat:
            return []
        case let .reset(reason, text):
            // Several RESETs answer the messages sent before the first one arrived: one rejoin is enough.
            if phase == .joining { return [.note("ignored a further RESET (\(reason)) while joining")] }
            if reason == .newRun { lastVersion = 0 }
            phase = .joining
            helloDelay = timings.helloInterval
            nextHello = now
            var out: [WorkerDirective] = [.note("coordinator reset this worker (\(reason)): \(PeerText.escaped(text))")]
            if reason == .newRun { out.append(.discardState) }
            return out + tick(now: now)
        case let .shutdown(reason, text):
            phase = .exited
            return [.exit(code: reason == .finished ? 0 : 1, reason: PeerText.escaped(text))]
        case let .reject(reason, text):
            guard reason.isFinal else {
                return [.note("the coordinator refused a message of this worker (\(reason)): \(PeerText.escaped(text))")]
            }
            phase = .exited
            return [.exit(code: 2, reason: "coordinator refused this worker (\(reason)): \(PeerText.escaped(text))")]
        case .hello, .gradient, .shardOpen, .shardReady, .shardRead, .shardRows, .shardApply, .shardApplied,
             .shardExport, .shardSave, .shardSaved:
            return [.note("ignored a \(message.name) from the coordinator")]
        }
    }

    // MARK: handlers

    private mutating func welcome(workerId: UInt32, runId: UInt64, currentVersion: UInt64, spec: TrainingSpec,
                                  now: Double) -> [WorkerDirective] {
        if let refusal = spec.refusal(within: limits) {
            phase = .exited
            return [.exit(code: Self.unusableSpec, reason: "cannot take part in run \(String(runId, radix: 16)): \(refusal.detail)")]
        }
        var out: [WorkerDirective] = []
        let sameRun = runId == self.runId && self.spec == spec
        if !sameRun { out.append(.discardState) }
        // The coordinator's version is the one that counts: a coordinator resumed from a checkpoint goes back.
        lastVersion = currentVersion
        self.spec = spec
        self.workerId = workerId
        self.runId = runId
        out.append(.configure(workerId: workerId, runId: runId, spec: spec))
        helloDelay = timings.helloInterval
        phase = .ready
        lastHeartbeat = now
        out.append(.send(.heartbeat(version: currentVersion)))
        return out
    }

    private mutating func step(_ step: Step, now: Double) -> [WorkerDirective] {
        guard phase == .ready, let spec else { return [.note("ignored STEP \(step.step) before joining")] }
        if let refusal = spec.refusal(of: step, within: limits) { return [.refused(refusal)] }
        guard step.version >= lastVersion else {
            return [.note("ignored stale STEP \(step.step) at version \(step.version); already at \(lastVersion)")]
        }
        lastVersion = step.version
        return step.tasks.isEmpty ? [] : [.compute(step)]
    }
}
