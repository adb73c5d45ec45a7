@testable import Coordinator
import RunSettings
import Wire
import XCTest

/// What one peer may cost the run (`PeerLimits`), driven through the pure protocol: refusals and dropping, tasks
/// answered by the wrong member, snapshot slots and their rate, the member cap, hung members, names in logs.
extension CoordinatorMachineTests {
    func rejects(_ d: [Directive], _ peer: String, _ reason: RejectReason) -> Bool {
        d.contains { if case .send(peer, .reject(reason, _)) = $0 { true } else { false } }
    }

    func refusedKeys(_ d: [Directive]) -> [String] {
        d.compactMap { if case let .refused(_, _, r) = $0 { r.key } else { nil } }
    }

    func accepted(_ d: [Directive]) -> Bool { d.contains { if case .accept = $0 { true } else { false } } }

    func testOnlyTheAssigneeMayAnswerATask() {
        var m = makeMachine()
        join(&m, ["a", "b", "c"])
        // b answers a's task, with its own connection: refused and told, and a's answer is still taken.
        let stolen = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "b", now: 0.1)
        XCTAssertFalse(accepted(stolen))
        XCTAssertEqual(refusedKeys(stolen), ["not_assigned"])
        XCTAssertTrue(rejects(stolen, "b", .notAssigned))
        XCTAssertTrue(accepted(m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: 0.2)))
    }

    func testAGradientBreakingItsContractIsRefusedAndItsSenderDroppedAtTheThreshold() {
        var m = makeMachine(workers: 1)
        join(&m, ["a"])
        let bad = Refusal.invalid("gradient_users_not_finite", "NaN")
        for attempt in 1 ... 3 {
            let d = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: Double(attempt),
                               check: { _ in bad })
            XCTAssertFalse(accepted(d))
            XCTAssertEqual(refusedKeys(d), ["gradient_users_not_finite"])
            XCTAssertTrue(rejects(d, "a", .invalidContent))
            XCTAssertEqual(rejects(d, "a", .dropped), attempt == 3, "dropped at the third refusal, not before")
            XCTAssertEqual(d.contains { if case .memberLost(1, _, _) = $0 { true } else { false } }, attempt == 3)
        }
        XCTAssertTrue(m.members.isEmpty)
        // Everything from the dropped connection is refused, HELLO included, and REJECT goes at most once a second.
        let again = m.received(hello("a", incarnation: 5), from: "a", now: 3.5)
        XCTAssertEqual(refusedKeys(again), ["dropped_peer"])
        XCTAssertFalse(rejects(again, "a", .dropped))
        XCTAssertTrue(rejects(m.received(.heartbeat(version: 0), from: "a", now: 4.1), "a", .dropped))
        XCTAssertTrue(m.members.isEmpty)
    }

    func testTheContractIsAskedOnlyAboutCurrentAssignedTasks() {
        var m = makeMachine(workers: 1)
        join(&m, ["a"])
        var asked = 0
        let check: (Gradient) -> Refusal? = { _ in asked += 1; return nil }
        _ = m.received(gradient(step: 7, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: 0.1, check: check)
        _ = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 5)), from: "a", now: 0.1, check: check)
        XCTAssertEqual(asked, 0, "stale and unknown tasks are ignored without a check")
        XCTAssertTrue(accepted(m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: 0.1, check: check)))
        XCTAssertEqual(asked, 1)
    }

    func testMembersBeyondMaxWorkersAreRefused() {
        var m = Machine(runId: 77, schedule: schedule, minimumWorkers: 2, limits: PeerLimits(maxWorkers: 2))
        join(&m, ["a", "b"])
        let d = m.received(hello("c"), from: "c", now: 0)
        XCTAssertEqual(refusedKeys(d), ["too_many_workers"])
        XCTAssertTrue(rejects(d, "c", .tooManyWorkers))
        XCTAssertEqual(m.members.count, 2)
    }

    func testAMemberThatHeartbeatsButNeverAnswersIsDeclaredHungAndItsTaskReassigned() {
        let limits = PeerLimits(taskDeadline: 5)
        var m = Machine(runId: 77, schedule: schedule, timings: ProtocolTimings(minimumResend: 0.5),
                        minimumWorkers: 3, limits: limits)
        join(&m, ["a", "b", "c"])
        for p in ["a", "b"] {
            _ = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: p == "a" ? 0 : 1)), from: p, now: 1)
        }
        var resends = 0
        var lost: [TaskKey]?
        var t = 1.0
        while t < 6, lost == nil {
            t += 0.25
            for p in ["a", "b", "c"] { _ = m.received(.heartbeat(version: 0), from: p, now: t) }
            let d = m.tick(now: t)
            resends += stepTasks(d)["c"]?.count ?? 0
            for case let .memberLost(3, reason, reassigned) in d {
                XCTAssertTrue(reason.hasPrefix("hung"), reason)
                lost = reassigned
            }
        }
        XCTAssertGreaterThan(resends, 0, "resent before the deadline")
        XCTAssertEqual(lost, [TaskKey(epoch: 0, minibatch: 2)])
        XCTAssertGreaterThan(t, 5)
        XCTAssertEqual(m.hungMembers, 1)
        XCTAssertTrue(accepted(m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 2)),
                                          from: m.assignments[TaskKey(epoch: 0, minibatch: 2)]!! == 1 ? "a" : "b", now: t)))
    }

    func testWorkerNamesAreEscapedBeforeTheyReachALog() {
        var m = makeMachine()
        let d = m.received(.hello(incarnation: 1, lastVersion: 0, runId: 0, workerName: "x\nERROR forged\u{1B}[2J\u{0}"),
                           from: "x", now: 0)
        let names = d.compactMap { if case let .memberJoined(_, name) = $0 { name } else { nil } }
        XCTAssertEqual(names, ["x\\nERROR forged\\u{1b}[2J\\u{0}"])
        XCTAssertEqual(m.members[1]?.name, names.first)
    }
}

extension CoordinatorMachineTests {
    func testARepeatedHelloGetsItsWelcomeAgainAtMostOnceASecond() {
        var m = makeMachine()
        _ = m.received(hello("a"), from: "a", now: 0)
        let soon = m.received(hello("a"), from: "a", now: 0.25)
        XCTAssertEqual(refusedKeys(soon), ["hello_rate"])
        XCTAssertFalse(soon.contains { if case .sendWelcome = $0 { true } else { false } })
        let later = m.received(hello("a"), from: "a", now: 1.75)
        XCTAssertTrue(later.contains { if case .sendWelcome("a", 1) = $0 { true } else { false } })
        XCTAssertEqual(m.members.count, 1)
    }
}

extension CoordinatorMachineTests {
    /// 60 HELLOs from connections that then fall silent cost one WELCOME each and no state: they are never ready,
    /// never given a task, and all declared dead.
    func testAHelloFloodCostsOneWelcomeEachAndNoTask() {
        var m = makeMachine(workers: 1, timings: ProtocolTimings(heartbeatInterval: 0.5, deadAfter: 3))
        var welcomes = 0, steps = 0
        for i in 0 ..< 60 {
            for case .sendWelcome in m.received(hello("p\(i)"), from: "p\(i)", now: 0.001 * Double(i)) { welcomes += 1 }
        }
        for t in stride(from: 0.5, through: 12, by: 0.5) {
            for case .sendStep in m.tick(now: t) { steps += 1 }
        }
        XCTAssertEqual(welcomes, 60)
        XCTAssertEqual(steps, 0)
        XCTAssertTrue(m.members.isEmpty)
    }
}
