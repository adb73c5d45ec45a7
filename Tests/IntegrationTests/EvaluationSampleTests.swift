import Foundation
import TestSupport
import XCTest

/// `--evaluation-users` and `--synthetic-interactions-per-user` (and their `MBT_*` variables) on a real run.
final class EvaluationSampleTests: XCTestCase {
    func testASampledEvaluationIsReportedAsSuchInTheEventsAndTheLog() throws {
        let dir = try ProcessHarness.temporaryDirectory("evaluation-sample")
        let output = dir.appendingPathComponent("run")
        let coordinator = try ProcessHarness.start(
            "coordinator",
            ["--spawn-workers", "1", "--bind", "tcp://127.0.0.1:0", "--epochs", "2", "--synthetic-users", "600",
             "--synthetic-items", "300", "--batch-size", "512", "--negatives", "64", "--dim", "16",
             "--evaluation-users", "100", "--output", output.path],
            logName: "coordinator", in: dir, environment: ["MBT_SYNTHETIC_INTERACTIONS_PER_USER": "5"])
        XCTAssertEqual(coordinator.wait(seconds: 120), 0, coordinator.log)
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" })
        XCTAssertEqual(start["train"] as? Int, 600 * 5, "MBT_SYNTHETIC_INTERACTIONS_PER_USER reached the generator")
        XCTAssertEqual(start["evaluation_users"] as? Int, 100)
        XCTAssertEqual(start["test_users"] as? Int, 600)
        let epochs = lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.count, 2)
        for epoch in epochs {
            XCTAssertEqual(epoch["evaluation_users"] as? Int, 100)
            XCTAssertNotNil(epoch["recall@20"] as? Double)
        }
        XCTAssertTrue(coordinator.log.contains("Recall@20 on a sample of 100 test users (of 600"), coordinator.log)
        XCTAssertTrue(coordinator.log.contains("epoch 2: Recall@20 "), coordinator.log)

        // Without the flag: every test user, and no sample in the log.
        let full = dir.appendingPathComponent("full")
        let whole = try ProcessHarness.start(
            "coordinator",
            ["--spawn-workers", "1", "--bind", "tcp://127.0.0.1:0", "--epochs", "1", "--synthetic-users", "600",
             "--synthetic-items", "300", "--synthetic-interactions-per-user", "5", "--batch-size", "512",
             "--negatives", "64", "--dim", "16", "--output", full.path],
            logName: "full", in: dir)
        XCTAssertEqual(whole.wait(seconds: 120), 0, whole.log)
        let fullLines = try ProcessHarness.jsonLines(full.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(fullLines.first { $0["event"] as? String == "start" }?["evaluation_users"] as? Int, 600)
        XCTAssertEqual(fullLines.first { $0["event"] as? String == "epoch" }?["evaluation_users"] as? Int, 600)
        XCTAssertFalse(whole.log.contains("on a sample of"), whole.log)
    }

    func testUnusableFlagsAreRefusedWithASentence() throws {
        let dir = try ProcessHarness.temporaryDirectory("evaluation-sample-flags")
        let cases: [([String], [String: String], String)] = [
            (["--evaluation-users=-1"], [:], "--evaluation-users must be 0 (all test users) or more (got -1)"),
            ([], ["MBT_EVALUATION_USERS": "-5"], "--evaluation-users must be 0 (all test users) or more (got -5)"),
            (["--synthetic-interactions-per-user", "0"], [:], "--synthetic-interactions-per-user must be at least 1 (got 0)"),
            (["--synthetic-interactions-per-user", "299", "--synthetic-items", "300"], [:],
             "--synthetic-interactions-per-user 299 plus 2 test items per user needs at least 301 items; --synthetic-items is 300"),
            (["--synthetic-users", "0"], [:], "--synthetic-users must be at least 1 (got 0)"),
        ]
        for (i, (flags, environment, message)) in cases.enumerated() {
            let bad = try ProcessHarness.start("coordinator", flags + ["--output", dir.appendingPathComponent("r\(i)").path],
                                               logName: "bad\(i)", in: dir, environment: environment)
            XCTAssertNotEqual(bad.wait(seconds: 30), 0, "\(flags) \(environment)")
            XCTAssertTrue(bad.log.contains(message), "\(flags) \(environment): \(bad.log)")
        }
    }
}
