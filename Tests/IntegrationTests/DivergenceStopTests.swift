import Coordinator
import Foundation
import Kernels
import TestSupport
import XCTest

/// A run whose parameters blow up (SGD at a learning rate of 10⁷) stops at the step that made them unusable, with a
/// clear error, a `stopped` event and checkpoints that all predate the damage, instead of training on NaN.
final class DivergenceStopTests: XCTestCase {
    func testADivergingRunStopsWithACheckpointFromBefore() throws {
        let dir = try ProcessHarness.temporaryDirectory("diverge")
        let output = dir.appendingPathComponent("run")
        let coordinator = try ProcessHarness.start("coordinator", [
            "--bind", "tcp://127.0.0.1:\(ProcessHarness.freePort())", "--spawn-workers", "1", "--epochs", "3",
            "--synthetic-users", "500", "--synthetic-items", "300", "--dim", "16", "--negatives", "64",
            "--batch-size", "256", "--optimizer", "sgd", "--lr", "1e7", "--similarity", "dot", "--checkpoint-every", "1",
            "--output", output.path,
        ], logName: "coordinator", in: dir)
        defer { if coordinator.process.isRunning { coordinator.signal(SIGKILL) } }
        let status = coordinator.wait(seconds: 120)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0, coordinator.log)
        XCTAssertTrue(coordinator.log.contains("stopping rather than training on it"), coordinator.log)
        XCTAssertTrue(coordinator.log.contains("predates it"), coordinator.log)

        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let stopped = try XCTUnwrap(lines.last { $0["event"] as? String == "stopped" }, "\(lines)")
        XCTAssertEqual(stopped["reason"] as? String, "unusable_parameters")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("user_embeddings.npy").path),
                       "the unusable tables must not be exported")

        // The newest checkpoint is intact, from before the damaging step, and holds usable parameters.
        let (checkpoint, path, _) = try XCTUnwrap(CheckpointStore(directory: output.path).newestValid())
        XCTAssertEqual(stopped["checkpoint"] as? String, path)
        XCTAssertLessThanOrEqual(Int(checkpoint.cursor.step), stopped["step"] as? Int ?? -1)
        let state = try checkpoint.restore(optimizer: OptimizerSettings(kind: .sgd, learningRate: 1e7))
        XCTAssertNil(ParameterCheck(dim: 16, temperature: 0.1).firstOutOfRange(in: state))
    }
}
