@testable import Coordinator
import RunSettings
import Wire
import XCTest

/// The coordinator's protocol driven through membership, steps, deaths, resends and rejoins with a manual clock
/// and no sockets. Peers are plain strings.
final class CoordinatorMachineTests: XCTestCase {
    typealias Machine = CoordinatorMachine<String>
    typealias Directive = CoordinatorDirective<String>

    let schedule = TrainingSchedule(epochs: 2, minibatchesPerEpoch: 6, minibatchesPerStep: 3)

    func makeMachine(workers: Int = 3, timings: ProtocolTimings = ProtocolTimings()) -> Machine {
        Machine(runId: 77, schedule: schedule, timings: timings, minimumWorkers: workers)
    }

    func hello(_ peer: String, incarnation: UInt64 = 1) -> Message {
        .hello(incarnation: incarnation, lastVersion: 0, runId: 0, workerName: peer)
    }

    /// Tasks sent per peer by the STEP directives in `directives`.
    func stepTasks(_ directives: [Directive]) -> [String: [TaskKey]] {
        var out: [String: [TaskKey]] = [:]
        for case let .sendStep(peer, _, tasks) in directives { out[peer, default: []] += tasks }
        return out
    }

    func gradient(step: UInt64, version: UInt64, _ key: TaskKey) -> Message {
        .gradient(Gradient(step: step, version: version, epoch: key.epoch, minibatch: key.minibatch, examples: 1,
                           lossSum: 1, rowsHash: 0, users: RowBlock(dim: 2, ids: [], values: []),
                           items: RowBlock(dim: 2, ids: [], values: [])))
    }

    /// Joins `peers`, each welcomed and answering with a HEARTBEAT; returns directives of the last.
    @discardableResult
    func join(_ m: inout Machine, _ peers: [String], now: Double = 0) -> [Directive] {
        var last: [Directive] = []
        for p in peers {
            let d = m.received(hello(p), from: p, now: now)
            XCTAssertTrue(d.contains { if case .sendWelcome(p, _) = $0 { true } else { false } }, "\(p) is welcomed")
            XCTAssertFalse(d.contains { if case .memberReady = $0 { true } else { false } }, "ready only once it answers")
            last = m.received(.heartbeat(version: 0), from: p, now: now)
        }
        return last
    }

    func testWaitsForWorkersThenAssignsRoundRobin() {
        var m = makeMachine()
        join(&m, ["a", "b"])
        XCTAssertEqual(m.phase, .waitingForWorkers)
        let d = join(&m, ["c"])
        XCTAssertEqual(m.phase, .running)
        let tasks = stepTasks(d)
        XCTAssertEqual(tasks["a"], [TaskKey(epoch: 0, minibatch: 0)])
        XCTAssertEqual(tasks["b"], [TaskKey(epoch: 0, minibatch: 1)])
        XCTAssertEqual(tasks["c"], [TaskKey(epoch: 0, minibatch: 2)])
    }

    func testStepCompletesOnlyWithEveryGradientAndIgnoresDuplicatesAndStale() {
        var m = makeMachine()
        join(&m, ["a", "b", "c"])
        var applied: [Directive] = []
        for (i, p) in ["a", "b", "c"].enumerated() {
            let key = TaskKey(epoch: 0, minibatch: UInt32(i))
            applied = m.received(gradient(step: 1, version: 0, key), from: p, now: 0.1)
            // A duplicate of the same gradient is not accepted twice.
            let dup = m.received(gradient(step: 1, version: 0, key), from: p, now: 0.1)
            XCTAssertFalse(dup.contains { if case .accept = $0 { true } else { false } })
        }
        guard case let .applyStep(step, tasks)? = applied.last else { return XCTFail("no applyStep: \(applied)") }
        XCTAssertEqual(step, 1)
        XCTAssertEqual(tasks.map(\.minibatch), [0, 1, 2])
        XCTAssertEqual(m.phase, .applying)
        let next = m.stepApplied(now: 0.2)
        XCTAssertEqual(m.version, 1)
        XCTAssertEqual(stepTasks(next).values.flatMap { $0 }.map(\.minibatch).sorted(), [3, 4, 5])
        // A late gradient for step 1 is stale now.
        let stale = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: 0.3)
        XCTAssertFalse(stale.contains { if case .accept = $0 { true } else { false } })
        XCTAssertEqual(m.ignoredMessages, 4)
    }

    func testDeadWorkerTasksGoToSurvivorsAndItIsResetWhenItComesBack() {
        var m = makeMachine(timings: ProtocolTimings(heartbeatInterval: 0.5, deadAfter: 3))
        join(&m, ["a", "b", "c"])
        _ = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: 1)
        _ = m.received(.heartbeat(version: 0), from: "b", now: 2.5)
        _ = m.received(.heartbeat(version: 0), from: "a", now: 2.5)
        // c has been silent since 0: dead after 3 s.
        let d = m.tick(now: 3.2)
        guard let lost = d.first(where: { if case .memberLost = $0 { true } else { false } }),
              case let .memberLost(id, _, reassigned) = lost else { return XCTFail("c not declared dead: \(d)") }
        XCTAssertEqual(id, 3)
        XCTAssertEqual(reassigned, [TaskKey(epoch: 0, minibatch: 2)])
        // The least loaded survivor (a: done with its task) takes it.
        XCTAssertEqual(stepTasks(d)["a"], [TaskKey(epoch: 0, minibatch: 2)])
        XCTAssertEqual(m.readyMembers, [1, 2])
        // c comes back (SIGCONT): its gradient is refused and it is told to rejoin.
        let back = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 2)), from: "c", now: 3.3)
        XCTAssertTrue(back.contains { if case .send("c", .reset(.declaredDead, _)) = $0 { true } else { false } })
        XCTAssertFalse(back.contains { if case .accept = $0 { true } else { false } })
        // It rejoins as a new member: WELCOME, and no state to send.
        let rejoin = m.received(hello("c", incarnation: 1), from: "c", now: 3.4)
        XCTAssertTrue(rejoin.contains { if case .memberJoined(4, _) = $0 { true } else { false } })
        XCTAssertTrue(rejoin.contains { if case .sendWelcome("c", 4) = $0 { true } else { false } })
    }

    func testResendAfterTimeoutToTheSameWorker() {
        var m = makeMachine(workers: 1, timings: ProtocolTimings(heartbeatInterval: 10, deadAfter: 20, minimumResend: 0.5, resendFactor: 4))
        join(&m, ["a"])
        XCTAssertTrue(stepTasks(m.tick(now: 0.4)).isEmpty)
        _ = m.received(.heartbeat(version: 0), from: "a", now: 0.6)
        let d = m.tick(now: 0.6)
        XCTAssertEqual(stepTasks(d)["a"]?.count, 3, "every unanswered task is sent again")
        XCTAssertEqual(m.resends, 3)
    }

    func testEpochBoundaryAndShutdown() {
        var m = makeMachine(workers: 1)
        join(&m, ["a"])
        var epochsFinished: [Int] = []
        var finished = false
        for _ in 0 ..< schedule.totalSteps {
            let keys = m.assignments.keys.sorted()
            var d: [Directive] = []
            for key in keys { d += m.received(gradient(step: m.currentStep, version: m.version, key), from: "a", now: 1) }
            XCTAssertTrue(d.contains { if case .applyStep = $0 { true } else { false } })
            for directive in m.stepApplied(now: 1) {
                if case let .epochFinished(e) = directive { epochsFinished.append(e) }
                if case .trainingFinished = directive { finished = true }
                if case .send("a", .shutdown(.finished, _)) = directive { XCTAssertTrue(true) }
            }
        }
        XCTAssertEqual(epochsFinished, [0, 1])
        XCTAssertTrue(finished)
        XCTAssertEqual(m.phase, .finished)
        XCTAssertEqual(m.version, UInt64(schedule.totalSteps))
    }

    func testEndAfterEpochShortensTheRunButNeverCutsTheEpochInProgress() {
        var m = Machine(runId: 77, schedule: TrainingSchedule(epochs: 5, minibatchesPerEpoch: 6, minibatchesPerStep: 3),
                        minimumWorkers: 1)
        join(&m, ["a"])
        var epochsFinished: [Int] = []
        var steps = 0
        while m.phase != .finished {
            for key in m.assignments.keys.sorted() {
                _ = m.received(gradient(step: m.currentStep, version: m.version, key), from: "a", now: 1)
            }
            steps += 1
            // Asked during epoch 2 (index 1) to end after epoch 1 (index 0): epoch 2 still runs to its end.
            if steps == 3 { m.endAfterEpoch(0) }
            for case let .epochFinished(e) in m.stepApplied(now: 1) { epochsFinished.append(e) }
        }
        XCTAssertEqual(epochsFinished, [0, 1])
        XCTAssertEqual(m.schedule.epochs, 2)
        XCTAssertEqual(steps, 4)
        m.endAfterEpoch(4)
        XCTAssertEqual(m.schedule.epochs, 2, "never lengthens the run")
    }

    func testOnlyMembersWithTasksGetAStep() {
        var m = Machine(runId: 77, schedule: TrainingSchedule(epochs: 1, minibatchesPerEpoch: 4, minibatchesPerStep: 2),
                        minimumWorkers: 3)
        let first = stepTasks(join(&m, ["a", "b", "c"]))
        XCTAssertEqual(first.keys.sorted(), ["a", "b"], "two tasks, two STEPs: nothing is sent to keep a replica current")
        _ = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 0)), from: "a", now: 0.1)
        _ = m.received(gradient(step: 1, version: 0, TaskKey(epoch: 0, minibatch: 1)), from: "b", now: 0.1)
        XCTAssertEqual(stepTasks(m.stepApplied(now: 0.2)).keys.sorted(), ["a", "b"])
    }

    func testUnknownPeerIsToldToSayHello() {
        var m = makeMachine()
        let d = m.received(.heartbeat(version: 0), from: "x", now: 0)
        XCTAssertTrue(d.contains { if case .send("x", .reset(.unknownWorker, _)) = $0 { true } else { false } })
    }

    func testAMemberIsReadyOnceItAnswersItsWelcome() {
        var m = makeMachine(workers: 1)
        _ = m.received(hello("a"), from: "a", now: 1)
        XCTAssertEqual(m.readyMembers, [])
        XCTAssertEqual(m.phase, .waitingForWorkers)
        let d = m.received(.heartbeat(version: 0), from: "a", now: 1.2)
        XCTAssertEqual(m.readyMembers, [1])
        XCTAssertEqual(stepTasks(d)["a"]?.count, 3)
    }
}

extension CoordinatorMachineTests {
    func testResumingAFinishedRunHasNothingToDo() {
        let done = TrainingCursor(step: 5, version: 4, epoch: 1, minibatch: 6)
        let m = Machine(runId: 1, schedule: schedule, minimumWorkers: 3, cursor: done)
        XCTAssertEqual(m.phase, .finished)
        let midway = TrainingCursor(step: 3, version: 2, epoch: 0, minibatch: 6)
        XCTAssertEqual(Machine(runId: 1, schedule: schedule, minimumWorkers: 3, cursor: midway).phase, .waitingForWorkers)
    }
}
