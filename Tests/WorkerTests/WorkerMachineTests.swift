import RunSettings
import Wire
@testable import Worker
import XCTest

/// The worker's protocol driven by messages and a manual clock, without sockets.
final class WorkerMachineTests: XCTestCase {
    let spec = TrainingSpec(users: 3, items: 4, dim: 2,
                            loss: LossSettings(kind: .bankInfoNCE, temperature: 0.2, negatives: 2,
                                               removeAccidentalHits: true),
                            sampler: .uniform, popularityAlpha: 0.75, seed: 1)

    func empty() -> RowBlock { RowBlock(dim: 2, ids: [], values: []) }

    func step(_ n: UInt64, version: UInt64, tasks: [MinibatchTask] = []) -> Message {
        .step(Step(step: n, version: version, users: empty(), items: empty(), bank: empty(), tasks: tasks))
    }

    func task(_ mb: UInt32) -> MinibatchTask { MinibatchTask(epoch: 0, minibatch: mb, users: [0], items: [1]) }

    func ready(at version: UInt64 = 0) -> WorkerMachine {
        var w = WorkerMachine(incarnation: 5, name: "w", now: 0)
        _ = w.tick(now: 0)
        _ = w.received(.welcome(workerId: 2, runId: 9, currentVersion: version, spec: spec), now: 0.1)
        if version > 0 { _ = w.received(step(version, version: version), now: 0.2) }
        return w
    }

    func testHelloRepeatsWithBackOffUntilWelcome() {
        var w = WorkerMachine(incarnation: 5, name: "w", timings: .init(helloInterval: 0.25, maximumHelloInterval: 1), now: 0)
        var hellos: [Double] = []
        for t in stride(from: 0.0, through: 3.0, by: 0.05) {
            for case .send(.hello) in w.tick(now: t) { hellos.append(t) }
        }
        XCTAssertEqual(hellos.count, 5, "\(hellos)")   // 0, 0.25, 0.75, 1.75, 2.75
        XCTAssertEqual(hellos[1], 0.25, accuracy: 1e-9)
        XCTAssertEqual(hellos[4] - hellos[3], 1, accuracy: 0.06)
        let d = w.received(.welcome(workerId: 2, runId: 9, currentVersion: 4, spec: spec), now: 3)
        XCTAssertEqual(w.phase, .ready, "a worker holds no state: nothing to load before working")
        XCTAssertTrue(d.contains(.configure(workerId: 2, runId: 9, spec: spec)))
        XCTAssertTrue(d.contains(.send(.heartbeat(version: 4))), "the answer that makes the coordinator count it ready")
    }

    func testEachStepIsComputedFromItsOwnRows() {
        var w = ready()
        let first = w.received(step(1, version: 0, tasks: [task(0)]), now: 1)
        guard case let .compute(s1)? = first.first, first.count == 1 else { return XCTFail("\(first)") }
        XCTAssertEqual(s1.tasks, [task(0)])
        let second = w.received(step(2, version: 1, tasks: [task(3)]), now: 1.1)
        guard case let .compute(s2)? = second.first else { return XCTFail("\(second)") }
        XCTAssertEqual(s2.version, 1)
        XCTAssertEqual(w.lastVersion, 1)
        XCTAssertTrue(w.received(step(2, version: 1), now: 1.2).isEmpty, "a STEP without tasks asks for nothing")
    }

    func testAResentStepIsComputedAgainFromTheCacheOfTheShell() {
        var w = ready()
        _ = w.received(step(2, version: 1, tasks: [task(3)]), now: 1)
        let again = w.received(step(2, version: 1, tasks: [task(3)]), now: 1.5)
        XCTAssertTrue(again.contains { if case let .compute(s) = $0 { s.step == 2 } else { false } })
    }

    func testStaleStepIgnored() {
        var w = ready(at: 5)
        let d = w.received(step(3, version: 4, tasks: [task(1)]), now: 1)
        XCTAssertFalse(d.contains { if case .compute = $0 { true } else { false } })
        XCTAssertEqual(w.lastVersion, 5)
    }

    func testAStepBeforeWelcomeIsIgnored() {
        var w = WorkerMachine(incarnation: 5, name: "w", now: 0)
        let d = w.received(step(1, version: 0, tasks: [task(0)]), now: 0.1)
        XCTAssertFalse(d.contains { if case .compute = $0 { true } else { false } })
    }

    func testSilentCoordinatorMeansHelloAgain() {
        var w = ready(at: 3)
        let d = w.tick(now: 10)
        XCTAssertEqual(w.phase, .joining)
        XCTAssertTrue(d.contains(.send(.hello(incarnation: 5, lastVersion: 3, runId: 9, workerName: "w"))))
        let back = w.received(.welcome(workerId: 2, runId: 9, currentVersion: 3, spec: spec), now: 10.1)
        XCTAssertEqual(w.phase, .ready)
        XCTAssertTrue(back.contains(.send(.heartbeat(version: 3))))
        XCTAssertFalse(back.contains(.discardState), "same run: the cached gradients stay valid")
        let other = w.received(.welcome(workerId: 2, runId: 10, currentVersion: 0, spec: spec), now: 10.2)
        XCTAssertTrue(other.contains(.discardState), "another run: forget the cache")
        XCTAssertEqual(w.lastVersion, 0)
    }

    /// A coordinator resumed from a checkpoint goes back to its version: its STEPs are not stale to the worker.
    func testAResumedCoordinatorsOlderStepsAreComputed() {
        var w = ready(at: 7)
        _ = w.received(.welcome(workerId: 3, runId: 9, currentVersion: 4, spec: spec), now: 1)
        XCTAssertEqual(w.lastVersion, 4)
        XCTAssertTrue(w.received(step(5, version: 4, tasks: [task(0)]), now: 1.1)
            .contains { if case .compute = $0 { true } else { false } })
    }

    func testResetAfterDeathRejoins() {
        var w = ready(at: 3)
        let d = w.received(.reset(.declaredDead, "dead"), now: 1)
        XCTAssertEqual(w.phase, .joining)
        XCTAssertTrue(d.contains { if case .send(.hello) = $0 { true } else { false } })
    }

    func testShutdownExits() {
        var w = ready()
        XCTAssertEqual(w.received(.shutdown(.finished, "done"), now: 1), [.exit(code: 0, reason: "done")])
        XCTAssertEqual(w.phase, .exited)
        XCTAssertTrue(w.tick(now: 100).isEmpty)
    }

    func testHeartbeatsWhileReady() {
        var w = ready()
        let beats = stride(from: 0.3, through: 2.0, by: 0.1).flatMap { w.tick(now: $0) }
            .filter { if case .send(.heartbeat) = $0 { true } else { false } }
        XCTAssertEqual(beats.count, 3)   // 0.6, 1.1, 1.6 after the one sent with the WELCOME's answer at 0.1
    }
}
