import Wire
@testable import Worker
import XCTest

/// What the worker does with a coordinator's message that it cannot or must not use.
extension WorkerMachineTests {
    func refusedKeys(_ d: [WorkerDirective]) -> [String] {
        d.compactMap { if case let .refused(r) = $0 { r.key } else { nil } }
    }

    func testASpecTheWorkerCannotHonourEndsItWithAClearReason() {
        var bad = spec
        for edit: (inout TrainingSpec) -> Void in [{ $0.loss.temperature = 0 }, { $0.loss.temperature = .nan },
                                                  { $0.dim = 0 }, { $0.loss.negatives = 0xFFFF_FFFF }, { $0.users = 0xFFFF_FFFF }] {
            bad = spec
            edit(&bad)
            var w = WorkerMachine(incarnation: 5, name: "w", now: 0)
            let d = w.received(.welcome(workerId: 2, runId: 9, currentVersion: 0, spec: bad), now: 0.1)
            guard case let .exit(code, reason)? = d.last else { return XCTFail("\(bad): \(d)") }
            XCTAssertEqual(code, WorkerMachine.unusableSpec)
            XCTAssertTrue(reason.contains("cannot take part"), reason)
            XCTAssertFalse(d.contains { if case .configure = $0 { true } else { false } }, "nothing is allocated")
            XCTAssertEqual(w.phase, .exited)
        }
        var small = WorkerMachine(incarnation: 5, name: "w", limits: InputLimits(memoryBytes: 64), now: 0)
        guard case .exit(WorkerMachine.unusableSpec, let reason)? =
            small.received(.welcome(workerId: 2, runId: 9, currentVersion: 0, spec: spec), now: 0.1).last
        else { return XCTFail("a spec beyond --max-memory must be refused") }
        XCTAssertTrue(reason.contains("--max-memory"), reason)
    }

    func testStepsBreakingTheSpecAreRefused() {
        var w = ready(at: 3)
        let outOfRange = Message.step(Step(step: 4, version: 4, users: RowBlock(dim: 2, ids: [3], values: [1, 1]),
                                           items: empty(), bank: empty(), tasks: [task(0)]))
        let wrongDim = Message.step(Step(step: 4, version: 4, users: empty(),
                                         items: RowBlock(dim: 3, ids: [0], values: [1, 1, 1]), bank: empty(), tasks: [task(0)]))
        let nan = Message.step(Step(step: 4, version: 4, users: empty(), items: empty(),
                                    bank: RowBlock(dim: 2, ids: [1, 2], values: [.nan, 0, 0, 0]), tasks: [task(0)]))
        let unordered = Message.step(Step(step: 4, version: 4, users: RowBlock(dim: 2, ids: [1, 0], values: [1, 1, 1, 1]),
                                          items: empty(), bank: empty(), tasks: [task(0)]))
        let foreignTask = step(4, version: 4, tasks: [MinibatchTask(epoch: 0, minibatch: 0, users: [7], items: [1])])
        for (message, key) in [(outOfRange, "step_users_row_range"), (wrongDim, "step_items_dim"),
                               (nan, "step_bank_not_finite"), (unordered, "step_users_order"),
                               (foreignTask, "task_user_range")] {
            let d = w.received(message, now: 1)
            XCTAssertEqual(refusedKeys(d), [key])
            XCTAssertFalse(d.contains { if case .compute = $0 { true } else { false } })
            XCTAssertEqual(w.lastVersion, 3)
        }
        // The real STEP that follows is computed as usual.
        XCTAssertTrue(w.received(step(4, version: 4, tasks: [task(0)]), now: 1.1)
            .contains { if case .compute = $0 { true } else { false } })
    }

    func testOnlyFinalRejectsEndTheWorker() {
        var w = ready()
        let d = w.received(.reject(.invalidContent, "gradient_users_not_finite: \u{1B}[31m"), now: 1)
        XCTAssertEqual(w.phase, .ready)
        XCTAssertEqual(d, [.note("the coordinator refused a message of this worker (invalidContent): gradient_users_not_finite: \\u{1b}[31m")])
        for reason in RejectReason.allCases where reason.isFinal {
            var v = ready()
            guard case .exit(2, _)? = v.received(.reject(reason, "x"), now: 1).last else { return XCTFail("\(reason)") }
        }
    }

    func testAWelcomeOfTheSameRunWithAnotherSpecForgetsTheCache() {
        var w = ready(at: 3)
        var other = spec
        other.dim = 3
        let d = w.received(.welcome(workerId: 2, runId: 9, currentVersion: 3, spec: other), now: 1)
        XCTAssertTrue(d.contains(.discardState))
        XCTAssertTrue(d.contains(.configure(workerId: 2, runId: 9, spec: other)))
    }
}
