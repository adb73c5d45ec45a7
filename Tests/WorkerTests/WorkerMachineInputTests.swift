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
        else { return XCTFail("a replica beyond --max-memory must be refused") }
        XCTAssertTrue(reason.contains("--max-memory"), reason)
    }

    func testStepsBreakingTheSpecAreRefusedAndLeaveTheReplicaAlone() {
        var w = ready(at: 3)
        let outOfRange = Message.step(Step(step: 4, baseVersion: 3, version: 4,
                                           userDelta: RowBlock(dim: 2, ids: [3], values: [1, 1]), itemDelta: empty(),
                                           bankDelta: empty(), tasks: []))
        let wrongDim = Message.step(Step(step: 4, baseVersion: 3, version: 4, userDelta: empty(),
                                         itemDelta: RowBlock(dim: 3, ids: [0], values: [1, 1, 1]), bankDelta: empty(), tasks: []))
        let nan = Message.step(Step(step: 4, baseVersion: 3, version: 4, userDelta: empty(), itemDelta: empty(),
                                    bankDelta: RowBlock(dim: 2, ids: [1, 1], values: [.nan, 0, 0, 0]), tasks: []))
        let sentinel = step(4, base: 3, version: .max)
        let foreignTask = step(4, base: 3, version: 4, tasks: [MinibatchTask(epoch: 0, minibatch: 0, users: [7], items: [1])])
        for (message, key) in [(outOfRange, "step_userDelta_row_range"), (wrongDim, "step_itemDelta_dim"),
                               (nan, "step_bankDelta_duplicate_row"), (sentinel, "step_version"),
                               (foreignTask, "task_user_range")] {
            let d = w.received(message, now: 1)
            XCTAssertEqual(refusedKeys(d), [key])
            XCTAssertFalse(d.contains { if case .applyDelta = $0 { true } else { false } })
            XCTAssertEqual(w.phase, .ready(version: 3))
        }
        // The real STEP that follows is applied as usual.
        XCTAssertTrue(w.received(step(4, base: 3, version: 4, tasks: [task(0)]), now: 1.1)
            .contains { if case .compute = $0 { true } else { false } })
    }

    func testSnapshotChunksOutsideTheTablesAreRefused() {
        var w = WorkerMachine(incarnation: 5, name: "w", now: 0)
        _ = w.received(.welcome(workerId: 2, runId: 9, currentVersion: 1, spec: spec), now: 0.1)
        let outside = SnapshotChunk(version: 1, table: .bank, firstRow: 3, rowCount: 2, chunkIndex: 0, chunkCount: 3,
                                    dim: 2, values: [1, 1, 1, 1])
        XCTAssertEqual(refusedKeys(w.received(.snapshot(outside), now: 0.2)), ["snapshot_rows"])
        let inside = SnapshotChunk(version: 1, table: .bank, firstRow: 2, rowCount: 2, chunkIndex: 0, chunkCount: 3,
                                   dim: 2, values: [1, 1, 1, 1])
        XCTAssertEqual(w.received(.snapshot(inside), now: 0.3), [.storeSnapshotChunk(inside)])
    }

    func testOnlyFinalRejectsEndTheWorker() {
        var w = ready()
        let d = w.received(.reject(.invalidContent, "gradient_users_not_finite: \u{1B}[31m"), now: 1)
        XCTAssertEqual(w.phase, .ready(version: 0))
        XCTAssertEqual(d, [.note("the coordinator refused a message of this worker (invalidContent): gradient_users_not_finite: \\u{1b}[31m")])
        for reason in RejectReason.allCases where reason.isFinal {
            var v = ready()
            guard case .exit(2, _)? = v.received(.reject(reason, "x"), now: 1).last else { return XCTFail("\(reason)") }
        }
    }

    func testAWelcomeOfTheSameRunWithAnotherSpecDoesNotTrustTheReplica() {
        var w = ready(at: 3)
        var other = spec
        other.dim = 3
        _ = w.received(.welcome(workerId: 2, runId: 9, currentVersion: 3, spec: other), now: 1)
        XCTAssertEqual(w.phase, .loading(version: 3))
    }
}
