import RunSettings
import Wire

/// What the coordinator's shell must do after an event.
public enum CoordinatorDirective<Peer: Hashable & Sendable>: Sendable {
    /// Send a control message as it is.
    case send(Peer, Message)
    /// Send WELCOME (run id, current version, training spec) to a new or returning member.
    case sendWelcome(Peer, workerId: UInt32)
    /// Send STEP for the current step: these tasks of this member, with the rows they read.
    case sendStep(Peer, workerId: UInt32, tasks: [TaskKey])
    /// Keep this gradient: it is the one accepted for its minibatch in the current step.
    case accept(workerId: UInt32, Gradient)
    /// Every minibatch of the step has its gradient: average them in this order, apply, then call `stepApplied`.
    case applyStep(step: UInt64, tasks: [TaskKey])
    /// Every minibatch of `epoch` has been applied (before the next epoch's first step starts).
    case epochFinished(epoch: Int)
    /// The last epoch is done; SHUTDOWN has been sent to every member.
    case trainingFinished
    case memberJoined(workerId: UInt32, name: String)
    case memberReady(workerId: UInt32)
    case memberLost(workerId: UInt32, reason: String, reassigned: [TaskKey])
    /// A message from `peer` (member `workerId`, if it is one) was decoded but not used: log (rate-limited) and
    /// count it by `refusal.key`. Any REJECT to send comes as its own `.send`.
    case refused(Peer, workerId: UInt32?, Refusal)
    /// Something worth a log line (ignored duplicates, stale messages, refusals).
    case note(String)
}

/// The coordinator's protocol logic as a pure state machine: membership, liveness, task assignment, step
/// completion, resends and reassignment. It does no I/O and reads no clock: every event carries `now` in seconds.
public struct CoordinatorMachine<Peer: Hashable & Sendable>: Sendable {
    public typealias Directive = CoordinatorDirective<Peer>

    public enum Phase: Sendable, Equatable { case waitingForWorkers, running, applying, finished }

    public struct Member: Sendable, Equatable {
        public let id: UInt32
        public let peer: Peer
        public let incarnation: UInt64
        public let name: String
        public var lastHeard: Double
        /// True once the member has answered its WELCOME (a HEARTBEAT): it may then be given tasks.
        public var ready: Bool
        /// Messages of this member refused so far.
        public var refusals = 0
        /// When it was last sent WELCOME.
        var lastWelcomeAt = -Double.infinity
    }

    struct TaskProgress: Sendable {
        var assignee: UInt32?
        /// When the task was last sent (resends move it) and when it was given to its assignee.
        var sentAt: Double
        var assignedAt: Double
        var done: Bool
    }

    public let runId: UInt64
    /// The schedule; `endAfterEpoch` may shorten it.
    public private(set) var schedule: TrainingSchedule
    public let timings: ProtocolTimings
    /// Ready members needed before the first step starts.
    public let minimumWorkers: Int
    public let limits: PeerLimits

    public internal(set) var phase: Phase = .waitingForWorkers
    public private(set) var cursor: TrainingCursor
    public internal(set) var members: [UInt32: Member] = [:]
    var memberByPeer: [Peer: UInt32] = [:]
    private var deadPeers: Set<Peer> = []
    /// Peers dropped for refused messages: everything they send is refused.
    var droppedPeers: Set<Peer> = []
    /// When each dropped peer was last told so (one REJECT a second at most).
    var lastToldDropped: [Peer: Double] = [:]
    private var nextWorkerId: UInt32 = 1
    var inFlight: [TaskKey: TaskProgress] = [:]
    private var lastHeartbeat: Double = -.infinity
    /// Smoothed time from sending a task to receiving its gradient.
    public private(set) var typicalRoundTrip: Double = 0
    /// Counters for reports.
    public private(set) var resends = 0
    public private(set) var ignoredMessages = 0
    /// Members declared hung: a task of theirs went unanswered past `limits.taskDeadline`.
    public internal(set) var hungMembers = 0

    public init(runId: UInt64, schedule: TrainingSchedule, timings: ProtocolTimings = ProtocolTimings(),
                minimumWorkers: Int, cursor: TrainingCursor = TrainingCursor(), limits: PeerLimits = PeerLimits()) {
        precondition(minimumWorkers >= 1, "at least one worker is needed")
        precondition(minimumWorkers <= limits.maxWorkers, "\(minimumWorkers) workers needed but at most \(limits.maxWorkers) admitted")
        self.runId = runId
        self.schedule = schedule
        self.timings = timings
        self.minimumWorkers = minimumWorkers
        self.limits = limits
        self.cursor = cursor
        // A checkpoint taken after the last step of the last epoch: nothing is left to do.
        if cursor.epoch >= schedule.epochs
            || cursor.epoch == schedule.epochs - 1 && cursor.minibatch >= schedule.minibatchesPerEpoch {
            phase = .finished
        }
    }

    public var version: UInt64 { cursor.version }
    public var currentStep: UInt64 { cursor.step }
    public var readyMembers: [UInt32] { members.values.filter(\.ready).map(\.id).sorted() }
    /// Tasks of the step in flight, with their assignee (nil while no ready member can take them).
    public var assignments: [TaskKey: UInt32?] { inFlight.mapValues(\.assignee) }
    public var resendTimeout: Double { max(timings.minimumResend, timings.resendFactor * typicalRoundTrip) }

    // MARK: events

    /// A decoded message from `peer`. `check` is the content rule of a GRADIENT (`GradientContract`): it is asked
    /// only about a gradient that answers a task of the current step assigned to its sender.
    public mutating func received(_ message: Message, from peer: Peer, now: Double,
                                  check: (Gradient) -> Refusal? = { _ in nil }) -> [Directive] {
        if droppedPeers.contains(peer) { return refuseDropped(peer, now: now) }
        if case let .hello(incarnation, _, _, name) = message {
            return hello(peer: peer, incarnation: incarnation, name: name, now: now)
        }
        guard let id = memberByPeer[peer], var member = members[id] else {
            ignoredMessages += 1
            if deadPeers.contains(peer) {
                return [.send(peer, .reset(.declaredDead, "you were declared dead; send HELLO to rejoin"))]
            }
            return [.send(peer, .reset(.unknownWorker, "unknown worker; send HELLO first"))]
        }
        member.lastHeard = now
        members[id] = member
        var out: [Directive] = []
        switch message {
        case .heartbeat:
            if !member.ready { out += becomeReady(id, now: now) }
        case let .gradient(g):
            out += gradient(g, from: id, now: now, check: check)
        default:
            ignoredMessages += 1
            out.append(.note("worker \(id) sent an unexpected \(message.name); ignored"))
        }
        return out
    }

    public mutating func tick(now: Double) -> [Directive] {
        var out: [Directive] = []
        for member in members.values.sorted(by: { $0.id < $1.id }) where now - member.lastHeard > timings.deadAfter {
            out += lose(member.id, reason: String(format1: now - member.lastHeard) + " s without a message", now: now)
        }
        out += loseHungMembers(now: now)
        if now - lastHeartbeat >= timings.heartbeatInterval {
            lastHeartbeat = now
            for member in members.values.sorted(by: { $0.id < $1.id }) {
                out.append(.send(member.peer, .heartbeat(version: cursor.version)))
            }
        }
        switch phase {
        case .waitingForWorkers:
            if readyMembers.count >= minimumWorkers {
                phase = .running
                out += startStep(now: now)
            }
        case .running:
            out += assignOrphans(now: now)
            let timeout = resendTimeout
            for key in inFlight.keys.sorted() {
                guard let progress = inFlight[key], !progress.done, let owner = progress.assignee,
                      let member = members[owner], now - progress.sentAt > timeout else { continue }
                inFlight[key]?.sentAt = now
                resends += 1
                out.append(.sendStep(member.peer, workerId: owner, tasks: [key]))
            }
        case .applying, .finished:
            break
        }
        return out
    }

    /// Training ends when `epoch` (0-based) ends, or when the epoch in progress ends if that is later; no effect
    /// when the schedule already ends sooner. Used by early stopping, which learns of an epoch's score while the next
    /// one is already running.
    public mutating func endAfterEpoch(_ epoch: Int) {
        schedule.epochs = min(schedule.epochs, max(epoch, cursor.epoch) + 1)
    }

    /// The shell applied the step announced by `.applyStep`; the version advances and the next step starts.
    public mutating func stepApplied(now: Double) -> [Directive] {
        precondition(phase == .applying, "stepApplied() while \(phase)")
        inFlight.removeAll()
        cursor.version += 1
        cursor.step += 1
        phase = .running
        return startStep(now: now)
    }

    // MARK: membership

    /// A worker holds no state, so every HELLO is answered with WELCOME alone; the member is ready once it answers.
    private mutating func hello(peer: Peer, incarnation: UInt64, name: String, now: Double) -> [Directive] {
        var out: [Directive] = []
        if let id = memberByPeer[peer], let member = members[id] {
            if member.incarnation == incarnation {
                members[id]?.lastHeard = now
                // A repeated HELLO (its WELCOME was lost) is answered again, but not more than once a second:
                // WELCOME can be megabytes (the seen items).
                if now - member.lastWelcomeAt < limits.minimumWelcomeInterval {
                    let refusal = Refusal(.rateLimited, "hello_rate", "WELCOME was sent \(String(format1: now - member.lastWelcomeAt)) s ago; at most one every \(limits.minimumWelcomeInterval) s")
                    return [.refused(peer, workerId: id, refusal), .send(peer, .reject(refusal.reason, refusal.detail))]
                }
                members[id]?.lastWelcomeAt = now
                out.append(.sendWelcome(peer, workerId: id))
                return out
            }
            out += lose(id, reason: "restarted as a new process", now: now)
        }
        guard members.count < limits.maxWorkers else {
            let refusal = Refusal(.tooManyWorkers, "too_many_workers",
                                  "this run admits at most \(limits.maxWorkers) workers (--max-workers)")
            return out + [.refused(peer, workerId: nil, refusal), .send(peer, .reject(refusal.reason, refusal.detail))]
        }
        deadPeers.remove(peer)
        let id = nextWorkerId
        nextWorkerId += 1
        let shownName = PeerText.escaped(name, limit: 64)
        members[id] = Member(id: id, peer: peer, incarnation: incarnation, name: shownName, lastHeard: now, ready: false)
        members[id]?.lastWelcomeAt = now
        memberByPeer[peer] = id
        out.append(.memberJoined(workerId: id, name: shownName))
        out.append(.sendWelcome(peer, workerId: id))
        return out
    }

    mutating func becomeReady(_ id: UInt32, now: Double) -> [Directive] {
        guard members[id] != nil, phase != .finished else { return [] }
        members[id]?.ready = true
        var out: [Directive] = [.memberReady(workerId: id)]
        if phase == .waitingForWorkers, readyMembers.count >= minimumWorkers {
            phase = .running
            out += startStep(now: now)
        } else if phase == .running {
            out += assignOrphans(now: now)
        }
        return out
    }

    mutating func lose(_ id: UInt32, reason: String, now: Double) -> [Directive] {
        guard let member = members.removeValue(forKey: id) else { return [] }
        memberByPeer.removeValue(forKey: member.peer)
        if deadPeers.count >= 100_000 { deadPeers.removeAll() }
        deadPeers.insert(member.peer)
        var orphans: [TaskKey] = []
        for (key, progress) in inFlight where progress.assignee == id && !progress.done {
            inFlight[key]?.assignee = nil
            orphans.append(key)
        }
        orphans.sort()
        var out: [Directive] = [.memberLost(workerId: id, reason: reason, reassigned: orphans)]
        if phase == .running { out += assignOrphans(now: now) }
        return out
    }

    // MARK: steps

    private mutating func startStep(now: Double) -> [Directive] {
        var out: [Directive] = []
        if cursor.minibatch >= schedule.minibatchesPerEpoch {
            out.append(.epochFinished(epoch: cursor.epoch))
            cursor.epoch += 1
            cursor.minibatch = 0
        }
        if cursor.epoch >= schedule.epochs {
            phase = .finished
            for member in members.values.sorted(by: { $0.id < $1.id }) {
                out.append(.send(member.peer, .shutdown(.finished, "training finished")))
            }
            out.append(.trainingFinished)
            return out
        }
        let end = min(cursor.minibatch + schedule.minibatchesPerStep, schedule.minibatchesPerEpoch)
        let keys = (cursor.minibatch ..< end).map { TaskKey(epoch: UInt32(cursor.epoch), minibatch: UInt32($0)) }
        cursor.minibatch = end
        let ready = readyMembers
        var perMember: [UInt32: [TaskKey]] = [:]
        for (i, key) in keys.enumerated() {
            let owner: UInt32? = ready.isEmpty ? nil : ready[i % ready.count]
            inFlight[key] = TaskProgress(assignee: owner, sentAt: now, assignedAt: now, done: false)
            if let owner { perMember[owner, default: []].append(key) }
        }
        // Only members with tasks get a STEP: it carries the rows of their tasks and nothing else.
        for id in perMember.keys.sorted() {
            out.append(.sendStep(members[id]!.peer, workerId: id, tasks: perMember[id]!))
        }
        return out
    }

    mutating func assignOrphans(now: Double) -> [Directive] {
        let orphans = inFlight.filter { $0.value.assignee == nil && !$0.value.done }.keys.sorted()
        let ready = readyMembers
        guard !orphans.isEmpty, !ready.isEmpty else { return [] }
        var load: [UInt32: Int] = Dictionary(uniqueKeysWithValues: ready.map { ($0, 0) })
        for progress in inFlight.values where !progress.done {
            if let a = progress.assignee, load[a] != nil { load[a]! += 1 }
        }
        var perMember: [UInt32: [TaskKey]] = [:]
        for key in orphans {
            let owner = ready.min { (load[$0]!, $0) < (load[$1]!, $1) }!
            load[owner]! += 1
            inFlight[key] = TaskProgress(assignee: owner, sentAt: now, assignedAt: now, done: false)
            perMember[owner, default: []].append(key)
        }
        return perMember.keys.sorted().map { id in
            .sendStep(members[id]!.peer, workerId: id, tasks: perMember[id]!)
        }
    }

    private mutating func gradient(_ g: Gradient, from id: UInt32, now: Double,
                                   check: (Gradient) -> Refusal?) -> [Directive] {
        let key = TaskKey(epoch: g.epoch, minibatch: g.minibatch)
        guard phase == .running, g.step == cursor.step, g.version == cursor.version,
              let progress = inFlight[key], !progress.done else {
            ignoredMessages += 1
            return [.note("ignored gradient for step \(g.step) \(key) at version \(g.version) from worker \(id)"
                + " (current step \(cursor.step), version \(cursor.version))")]
        }
        guard progress.assignee == id else {
            let owner = progress.assignee.map { "worker \($0)" } ?? "nobody yet"
            return refuse(id, Refusal(.notAssigned, "not_assigned",
                                      "task (\(key.epoch), \(key.minibatch)) of step \(g.step) is assigned to \(owner), not to worker \(id)"),
                          now: now)
        }
        if let refusal = check(g) { return refuse(id, refusal, now: now) }
        var out: [Directive] = []
        if members[id]?.ready == false { out += becomeReady(id, now: now) }
        inFlight[key]?.done = true
        let roundTrip = now - progress.sentAt
        typicalRoundTrip = typicalRoundTrip == 0 ? roundTrip : 0.8 * typicalRoundTrip + 0.2 * roundTrip
        out.append(.accept(workerId: id, g))
        if inFlight.values.allSatisfy(\.done) {
            phase = .applying
            out.append(.applyStep(step: cursor.step, tasks: inFlight.keys.sorted()))
        }
        return out
    }
}

extension String {
    init(format1 value: Double) {
        let scaled = (value * 10).rounded() / 10
        self = "\(scaled)"
    }
}
