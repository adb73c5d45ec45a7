@testable import FuzzTargets
import Wire
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

    func testWorkerSeedLoadsAppliesComputesAndExits() throws {
        let (machine, directives) = try WorkerProtocolFuzzing.replay(seed(.workerProtocol, "whole-run"))
        XCTAssertEqual(machine.phase, .exited)
        XCTAssertEqual(machine.replicaVersion, 5)
        let computed = directives.compactMap { if case let .compute(step, _, tasks) = $0 { (step, tasks.count) } else { nil } }
        XCTAssertEqual(computed.map(\.0), [4, 5, 5])
        XCTAssertTrue(directives.contains(.exit(code: 0, reason: "done")))
    }

    func testWorkerSeedWithAGapAsksForASnapshot() throws {
        let (machine, directives) = try WorkerProtocolFuzzing.replay(seed(.workerProtocol, "version-gap"))
        XCTAssertTrue(directives.contains(.send(.sync(haveVersion: 3))))
        XCTAssertEqual(machine.phase, .ready(version: 7))
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
