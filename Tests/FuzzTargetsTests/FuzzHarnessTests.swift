@testable import FuzzTargets
import Replication
import Wire
import Worker
import XCTest

/// The harnesses reach deep states from their seeds (a fuzzer that starts from seeds that stop at the first
/// message explores little), and the script reader reads what the seed builders write.
final class FuzzHarnessTests: XCTestCase {
    private func seed(_ target: FuzzTarget, _ name: String) throws -> [UInt8] {
        try XCTUnwrap(FuzzSeeds.seeds(target).first { $0.name == name }?.bytes, "no seed \(name)")
    }

    func testCoordinatorSeedTrainsTheWholeSchedule() throws {
        let machine = try CoordinatorProtocolFuzzing.replay(seed(.coordinatorProtocol, "whole-run"))
        XCTAssertEqual(machine.phase, .finished)
        XCTAssertEqual(machine.version, UInt64(CoordinatorProtocolFuzzing.schedule.totalSteps))
    }

    func testCoordinatorSeedWithALostWorkerReassignsItsTask() throws {
        let machine = try CoordinatorProtocolFuzzing.replay(seed(.coordinatorProtocol, "worker-lost"))
        XCTAssertEqual(machine.members.count, 1)
        XCTAssertEqual(machine.version, 1, "the survivor's gradient for the reassigned task completes step 1")
    }

    func testWorkerSeedComputesItsStepsAndExits() throws {
        let (machine, directives) = try WorkerProtocolFuzzing.replay(seed(.workerProtocol, "whole-run"))
        XCTAssertEqual(machine.phase, .exited)
        XCTAssertEqual(machine.lastVersion, 4)
        let computed = directives.compactMap { if case let .compute(step) = $0 { (step.step, step.tasks.count) } else { nil } }
        XCTAssertEqual(computed.map(\.0), [4, 5, 5])
        XCTAssertTrue(directives.contains(.exit(code: 0, reason: "done")))
    }

    func testWorkerSeedWithAStaleStepSkipsIt() throws {
        let (_, directives) = try WorkerProtocolFuzzing.replay(seed(.workerProtocol, "stale-step"))
        let computed = directives.compactMap { if case let .compute(step) = $0 { step.step } else { nil } }
        XCTAssertEqual(computed, [6, 7])
    }

    func testStepRowsSeedsComputeOrAreRefused() throws {
        for name in ["honest", "missing-item", "unordered-then-honest", "one-task-of-two"] {
            XCTAssertNoThrow(try FuzzTarget.stepRows.run(seed(.stepRows, name)), name)
        }
        // The honest STEP is computed: every task's rows are there.
        let frames = FuzzInput.frames(try seed(.stepRows, "honest"))
        guard case let .step(step)? = try WireCodec.fuzzDecode(tag: MessageTag.step.rawValue, payload: frames[0])?.message
        else { return XCTFail("the honest seed does not decode") }
        let computer = try TaskComputer(spec: WireFuzzing.stepSpec)
        for task in step.tasks {
            XCTAssertNoThrow(try computer.gradient(for: task, of: step, rows: StepRows(step, dim: 2), hash: 0))
        }
    }

    func testScriptReadsFramesAndPadsTheEnd() {
        XCTAssertEqual(FuzzInput.frames(FuzzInput.encode(frames: [[1, 2], [], [3]])), [[1, 2], [], [3]])
        XCTAssertEqual(FuzzInput.frames([5, 0, 9]), [[9]], "a frame cut short by the end of the input")
        var input = FuzzInput([7])
        XCTAssertEqual(input.byte(), 7)
        XCTAssertEqual(input.byte(), 0)
        XCTAssertEqual(input.frame(), [])
    }
}
