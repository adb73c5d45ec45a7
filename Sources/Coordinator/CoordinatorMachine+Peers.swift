import RunSettings
import Wire

/// What one peer may cost the run (`PeerLimits`): refusals and dropping, hung members. Pure, like the rest of `CoordinatorMachine`.
extension CoordinatorMachine {
    // MARK: refusals

    /// Refuses a message of member `id`: the sender is told, and dropped once it has sent `maxRefusals` of them.
    mutating func refuse(_ id: UInt32, _ refusal: Refusal, now: Double) -> [Directive] {
        guard let member = members[id] else { return [] }
        members[id]?.refusals += 1
        var out: [Directive] = [.refused(member.peer, workerId: id, refusal),
                                .send(member.peer, .reject(refusal.reason, refusal.detail))]
        if member.refusals + 1 >= limits.maxRefusals {
            out += drop(id, reason: "\(member.refusals + 1) refused messages, the last: \(refusal.detail)", now: now)
        }
        return out
    }

    /// Removes member `id` from the run for good: its tasks go to others, and everything its connection sends
    /// from now on is refused.
    mutating func drop(_ id: UInt32, reason: String, now: Double) -> [Directive] {
        guard let member = members[id] else { return [] }
        if droppedPeers.count >= 100_000 { droppedPeers.removeAll() }
        droppedPeers.insert(member.peer)
        lastToldDropped[member.peer] = now
        let text = "dropped from the run: \(reason)"
        return [.send(member.peer, .reject(.dropped, text))] + lose(id, reason: text, now: now)
    }

    /// A message from a dropped peer: counted, and answered with REJECT at most once a second.
    mutating func refuseDropped(_ peer: Peer, now: Double) -> [Directive] {
        let refusal = Refusal(.dropped, "dropped_peer", "this connection was dropped from the run")
        var out: [Directive] = [.refused(peer, workerId: nil, refusal)]
        if now - (lastToldDropped[peer] ?? -.infinity) >= 1 {
            if lastToldDropped.count >= 100_000 { lastToldDropped.removeAll() }
            lastToldDropped[peer] = now
            out.append(.send(peer, .reject(refusal.reason, refusal.detail)))
        }
        return out
    }

    // MARK: hung members

    /// Declares dead every member holding a task unanswered for `taskDeadline` since it was assigned: it heartbeats
    /// but does not work (or works far too slowly), and the step must not wait for it forever.
    mutating func loseHungMembers(now: Double) -> [Directive] {
        guard phase == .running else { return [] }
        var hung: [UInt32: TaskKey] = [:]
        for (key, progress) in inFlight where !progress.done {
            guard let owner = progress.assignee, now - progress.assignedAt > limits.taskDeadline else { continue }
            hung[owner] = min(hung[owner] ?? key, key)
        }
        var out: [Directive] = []
        for (id, key) in hung.sorted(by: { $0.key < $1.key }) {
            hungMembers += 1
            out += lose(id, reason: "hung: no gradient for task (\(key.epoch), \(key.minibatch)) \(Int(limits.taskDeadline)) s after it was assigned (--task-timeout)", now: now)
        }
        return out
    }
}
