import RunSettings
import Wire

/// What one peer may cost the run (`PeerLimits`): refusals and dropping, snapshot slots and their rate, hung
/// members. Pure, like the rest of `CoordinatorMachine`.
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

    // MARK: snapshots

    /// Member `id` needs a snapshot (after HELLO or SYNC). At most `concurrentSnapshots` go out at once; a member
    /// asking again sooner than `minimumSnapshotInterval` is refused, and one that asks for more than
    /// `snapshotsWithoutProgress` without loading any is dropped.
    mutating func requestSnapshot(_ id: UInt32, now: Double) -> [Directive] {
        guard let member = members[id] else { return [] }
        members[id]?.ready = false
        if snapshotQueue.contains(id) { return [.note("worker \(id) asked again for the snapshot it is queued for")] }
        if now - member.lastSnapshotAt < limits.minimumSnapshotInterval {
            let refusal = Refusal(.rateLimited, "snapshot_rate",
                                  "a snapshot was sent \(String(format1: now - member.lastSnapshotAt)) s ago; at most one every \(limits.minimumSnapshotInterval) s")
            return [.refused(member.peer, workerId: id, refusal), .send(member.peer, .reject(refusal.reason, refusal.detail))]
        }
        if member.snapshotsWithoutProgress >= limits.snapshotsWithoutProgress {
            return drop(id, reason: "asked for a snapshot \(member.snapshotsWithoutProgress + 1) times without loading one", now: now)
        }
        if snapshotSlots.count < limits.concurrentSnapshots || snapshotSlots[id] != nil {
            return grantSnapshot(id, now: now)
        }
        snapshotQueue.append(id)
        return [.note("worker \(id) waits for a snapshot slot (\(snapshotQueue.count) waiting)")]
    }

    private mutating func grantSnapshot(_ id: UInt32, now: Double) -> [Directive] {
        guard let member = members[id] else { return [] }
        snapshotSlots[id] = now
        members[id]?.lastSnapshotAt = now
        members[id]?.snapshotVersion = cursor.version
        members[id]?.snapshotsWithoutProgress += 1
        return [.sendSnapshot(member.peer, workerId: id)]
    }

    /// A HEARTBEAT of `version` from member `id`: a loaded snapshot (any version from the one sent on) frees the
    /// member's slot.
    mutating func snapshotLoaded(_ id: UInt32, version: UInt64, now: Double) -> [Directive] {
        guard let member = members[id], snapshotSlots[id] != nil,
              version != UInt64.max, version >= member.snapshotVersion else { return [] }
        members[id]?.snapshotsWithoutProgress = 0
        return releaseSnapshotSlot(id, now: now)
    }

    /// Frees member `id`'s snapshot slot (loaded, lost or timed out) and gives it to the next member waiting.
    mutating func releaseSnapshotSlot(_ id: UInt32, now: Double) -> [Directive] {
        snapshotQueue.removeAll { $0 == id }
        guard snapshotSlots.removeValue(forKey: id) != nil else { return [] }
        var out: [Directive] = []
        while snapshotSlots.count < limits.concurrentSnapshots, !snapshotQueue.isEmpty {
            let next = snapshotQueue.removeFirst()
            // A member about to be declared dead (silent past the timeout) is skipped, not sent a snapshot.
            guard let member = members[next], now - member.lastHeard <= timings.deadAfter else { continue }
            out += grantSnapshot(next, now: now)
        }
        return out
    }

    mutating func expireSnapshotSlots(now: Double) -> [Directive] {
        var out: [Directive] = []
        for (id, since) in snapshotSlots.sorted(by: { $0.key < $1.key }) where now - since > limits.snapshotTimeout {
            out.append(.note("worker \(id) has not loaded its snapshot after \(Int(now - since)) s; its slot goes to the next"))
            out += releaseSnapshotSlot(id, now: now)
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
