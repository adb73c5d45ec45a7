import Wire

/// What the worker's shell must do after an event.
public enum WorkerDirective: Sendable, Equatable {
    case send(Message)
    /// WELCOME arrived: (re)build the replica and the gradient computation for this spec.
    case configure(workerId: UInt32, runId: UInt64, spec: TrainingSpec)
    /// Store this SNAPSHOT chunk in the replica; report completion with `snapshotLoaded`.
    case storeSnapshotChunk(SnapshotChunk)
    /// Apply the STEP's delta to the replica (it holds the step's base version).
    case applyDelta(Step)
    /// Compute (or answer from the cache) these tasks of `step` against the replica at `version`.
    case compute(step: UInt64, version: UInt64, tasks: [MinibatchTask])
    /// Drop the replica: the next WELCOME brings a new run.
    case discardState
    /// Training is over (or the coordinator refused us for good): exit with this status.
    case exit(code: Int32, reason: String)
    /// A message from the coordinator broke a rule of the run's spec and was not used: log (rate-limited), count.
    case refused(Refusal)
    case note(String)
}

/// The worker's protocol logic as a pure state machine: joining, snapshot loading, version checks on every STEP,
/// heartbeats, and noticing a vanished coordinator. No I/O, no clock: every event carries `now` in seconds.
public struct WorkerMachine: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Sending HELLO until WELCOME arrives.
        case joining
        /// Waiting for the snapshot at `version`.
        case loading(version: UInt64)
        /// Replica current at `version`; computing tasks.
        case ready(version: UInt64)
        case exited
    }

    public struct Timings: Sendable, Equatable {
        public var heartbeatInterval: Double
        /// Silence from the coordinator after which the worker says HELLO again.
        public var coordinatorTimeout: Double
        /// First HELLO retry delay; doubles up to `maximumHelloInterval`.
        public var helloInterval: Double
        public var maximumHelloInterval: Double
        /// A snapshot with no new chunk for this long is asked for again (a chunk or the request was lost).
        public var snapshotStall: Double

        public init(heartbeatInterval: Double = 0.5, coordinatorTimeout: Double = 3, helloInterval: Double = 0.25,
                    maximumHelloInterval: Double = 4, snapshotStall: Double = 2) {
            self.heartbeatInterval = heartbeatInterval
            self.coordinatorTimeout = coordinatorTimeout
            self.helloInterval = helloInterval
            self.maximumHelloInterval = maximumHelloInterval
            self.snapshotStall = snapshotStall
        }
    }

    /// The version a heartbeat carries while the worker holds no complete replica.
    public static let noReplica = UInt64.max

    /// The exit status of a worker that cannot take part in the run it was offered.
    public static let unusableSpec: Int32 = 3

    public let incarnation: UInt64
    public let name: String
    public let timings: Timings
    /// What this worker can hold and compute; a spec, STEP or snapshot beyond them is refused.
    public let limits: InputLimits
    /// The spec of the run joined (nil before WELCOME).
    public private(set) var spec: TrainingSpec?
    public private(set) var phase: Phase = .joining
    public private(set) var workerId: UInt32 = 0
    public private(set) var runId: UInt64 = 0
    /// The version the replica holds (nil: none).
    public private(set) var replicaVersion: UInt64?
    private var lastHeard: Double
    private var lastHeartbeat: Double = -.infinity
    private var nextHello: Double
    private var helloDelay: Double
    /// When the snapshot being loaded last made progress.
    private var snapshotProgress: Double = 0
    /// STEPs that arrived while a snapshot was loading, replayed once it is complete.
    private var parked: [Step] = []

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
        .hello(incarnation: incarnation, replicaVersion: replicaVersion ?? 0, runId: replicaVersion == nil ? 0 : runId,
               workerName: name)
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
        case .loading, .ready:
            if now - lastHeard > timings.coordinatorTimeout {
                out.append(.note("no message from the coordinator for \(Int(now - lastHeard)) s; saying HELLO again"))
                phase = .joining
                helloDelay = timings.helloInterval
                nextHello = now
                return out + tick(now: now)
            }
            if now - lastHeartbeat >= timings.heartbeatInterval {
                lastHeartbeat = now
                out.append(.send(.heartbeat(version: replicaVersion ?? WorkerMachine.noReplica)))
            }
            if case .loading = phase, now - snapshotProgress > timings.snapshotStall {
                snapshotProgress = now
                out.append(.send(.sync(haveVersion: replicaVersion ?? 0)))
                out.append(.note("snapshot stalled; asking for it again"))
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
        case let .snapshot(chunk):
            if let spec, let refusal = spec.refusal(of: chunk) { return [.refused(refusal)] }
            guard case let .loading(version) = phase, chunk.version >= version else {
                return [.note("ignored snapshot chunk at version \(chunk.version) while \(phase)")]
            }
            if chunk.version > version { phase = .loading(version: chunk.version) }
            snapshotProgress = now
            return [.storeSnapshotChunk(chunk)]
        case let .step(step):
            return self.step(step, now: now)
        case .heartbeat:
            return []
        case let .reset(reason, text):
            // Several RESETs answer the messages sent before the first one arrived: one rejoin is enough.
            if phase == .joining { return [.note("ignored a further RESET (\(reason)) while joining")] }
            replicaVersion = reason == .newRun ? nil : replicaVersion
            phase = .joining
            parked.removeAll()
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
        case .hello, .gradient, .sync:
            return [.note("ignored a \(message.name) from the coordinator")]
        }
    }

    /// The shell finished loading the snapshot at `version`.
    public mutating func snapshotLoaded(version: UInt64, now: Double) -> [WorkerDirective] {
        guard case let .loading(expected) = phase, version == expected else {
            return [.note("snapshot at \(version) completed while \(phase); ignored")]
        }
        replicaVersion = version
        phase = .ready(version: version)
        lastHeartbeat = now
        var out: [WorkerDirective] = [.send(.heartbeat(version: version))]
        let waiting = parked
        parked.removeAll()
        for step in waiting { out += self.step(step, now: now) }
        return out
    }

    // MARK: handlers

    private mutating func welcome(workerId: UInt32, runId: UInt64, currentVersion: UInt64, spec: TrainingSpec,
                                  now: Double) -> [WorkerDirective] {
        if let refusal = spec.refusal(within: limits) {
            phase = .exited
            return [.exit(code: Self.unusableSpec, reason: "cannot take part in run \(String(runId, radix: 16)): \(refusal.detail)")]
        }
        var out: [WorkerDirective] = []
        let sameRun = runId == self.runId && replicaVersion != nil && self.spec == spec
        self.spec = spec
        if !sameRun, replicaVersion != nil { out.append(.discardState) }
        if !sameRun { replicaVersion = nil }
        self.workerId = workerId
        self.runId = runId
        out.append(.configure(workerId: workerId, runId: runId, spec: spec))
        helloDelay = timings.helloInterval
        if sameRun, replicaVersion == currentVersion {
            phase = .ready(version: currentVersion)
            lastHeartbeat = now
            out.append(.send(.heartbeat(version: currentVersion)))
        } else {
            phase = .loading(version: currentVersion)
            snapshotProgress = now
        }
        return out
    }

    private mutating func step(_ step: Step, now: Double) -> [WorkerDirective] {
        if let spec, let refusal = spec.refusal(of: step, within: limits) { return [.refused(refusal)] }
        switch phase {
        case .joining, .exited:
            return [.note("ignored STEP \(step.step) before joining")]
        case .loading:
            parked.append(step)
            if parked.count > 8 { parked.removeFirst() }
            return []
        case let .ready(version):
            var out: [WorkerDirective] = []
            if version == step.baseVersion && step.version != version {
                out.append(.applyDelta(step))
                replicaVersion = step.version
                phase = .ready(version: step.version)
            } else if version == step.version {
                // Delta already applied (a resent STEP): only the tasks matter.
            } else if version > step.version {
                return [.note("ignored stale STEP \(step.step) at version \(step.version); replica at \(version)")]
            } else {
                // A gap: some delta was lost. Ask for a snapshot and keep this STEP for afterwards.
                phase = .loading(version: step.version)
                snapshotProgress = now
                replicaVersion = nil
                parked = [step]
                return [.send(.sync(haveVersion: version)),
                        .note("replica at \(version) cannot apply STEP from \(step.baseVersion); asking for a snapshot")]
            }
            if !step.tasks.isEmpty {
                out.append(.compute(step: step.step, version: step.version, tasks: step.tasks))
            }
            return out
        }
    }
}
