import Foundation
import TestSupport
import XCTest

/// bench/compare_summary.py, which turns the runs of bench/quality-speed.sh and bench/netns.sh into RESULT lines and
/// tables, and the checks those scripts make before they build or start anything.
final class CompareSummaryTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try ProcessHarness.temporaryDirectory("compare-summary")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs a command in the package root; its exit status and everything it printed (stdout and stderr).
    private func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:])
        throws -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = ProcessHarness.packageRoot
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    private func summary(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run("/usr/bin/env", ["python3", "bench/compare_summary.py"] + arguments)
    }

    private func fields(_ output: String) throws -> [String: String] {
        let line = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("RESULT ") }, output)
        return Dictionary(uniqueKeysWithValues: line.split(separator: " ").dropFirst().map {
            let pair = $0.split(separator: "=", maxSplits: 1)
            return (String(pair[0]), String(pair[1]))
        })
    }

    func testARunCountsTheEpochsAfterTheFirstAndTheEndEventsBytesPerStep() throws {
        let metrics = try write("metrics.jsonl", """
            {"event":"start","negatives":2048}
            {"event":"epoch","epoch":1,"examples":1000,"train_seconds":20.0}
            {"event":"epoch","epoch":2,"examples":1000,"train_seconds":10.0}
            {"event":"epoch","epoch":3,"examples":1000,"train_seconds":12.0}
            {"event":"epoch","epoch":4,"examples":1000,"train_seconds":11.0,"loss":6.54321}
            {"event":"end","steps":40,"wire_bytes_sent":4000000,"wire_bytes_received":800,"sparse_minimum_bytes_sent":400000,"sparse_minimum_bytes_received":400}

            """)
        let out = try summary(["run", metrics, "--round", "2", "--side", "old", "--workers", "2"])
        XCTAssertEqual(out.status, 0, out.output)
        let f = try fields(out.output)
        XCTAssertEqual(f["round"], "2")
        XCTAssertEqual(f["side"], "old")
        XCTAssertEqual(f["epochs"], "4")
        XCTAssertEqual(f["epoch_seconds"], "11.000", "the median of epochs 2-4, not counting epoch 1's start-up")
        XCTAssertEqual(f["examples_per_second"], "90.9", "3000 examples in 33 s")
        XCTAssertEqual(f["wire_bytes_per_step_sent"], "100000")
        XCTAssertEqual(f["sparse_minimum_bytes_per_step_sent"], "10000")
        XCTAssertEqual(f["wire_bytes_per_step_received"], "20")
        XCTAssertEqual(f["last_loss"], "6.5432", "the last epoch's loss, to compare the sides' recipes")

        let single = try write("one.jsonl", #"{"event":"epoch","epoch":1,"examples":500,"train_seconds":4.0}"# + "\n")
        let one = try fields(try summary(["run", single, "--round", "1", "--side", "new"]).output)
        XCTAssertEqual(one["epoch_seconds"], "4.000", "a single epoch is all there is to count")
        XCTAssertEqual(one["examples_per_second"], "125.0")

        let empty = try write("empty.jsonl", #"{"event":"start"}"# + "\n")
        let failed = try summary(["run", empty, "--round", "1", "--side", "new"])
        XCTAssertNotEqual(failed.status, 0)
        XCTAssertTrue(failed.output.contains("holds no finished training epoch"), failed.output)
    }

    func testTheTorchLinesAndAWindowOfScrapes() throws {
        let torch = try write("torch.log", """
            EPOCH epoch=1 loss=7.1 examples=800 train_seconds=9.000
            EPOCH epoch=2 loss=6.9 examples=800 train_seconds=8.000

            """)
        let t = try fields(try summary(["torch", torch, "--round", "1"]).output)
        XCTAssertEqual(t["side"], "pytorch")
        XCTAssertEqual(t["epoch_seconds"], "8.000")
        XCTAssertEqual(t["examples_per_second"], "100.0")
        XCTAssertEqual(t["last_loss"], "6.9000")

        let before = try write("before", """
            # time=100.0
            # TYPE mbt_steps_total counter
            mbt_steps_total 10
            mbt_examples_total 10240
            mbt_wire_bytes_total{direction="sent"} 1000000
            mbt_wire_bytes_total{direction="received"} 5000

            """)
        let after = try write("after", """
            # time=120.0
            mbt_steps_total 50
            mbt_examples_total 51200
            mbt_wire_bytes_total{direction="sent"} 41000000
            mbt_wire_bytes_total{direction="received"} 45000

            """)
        let metrics = try write("m.jsonl", #"{"event":"end","steps":60,"sparse_minimum_bytes_sent":600000}"# + "\n")
        let w = try fields(try summary(["window", before, after, "--round", "3", "--side", "new", "--workers", "1",
                                        "--metrics", metrics]).output)
        XCTAssertEqual(w["window_seconds"], "20.0")
        XCTAssertEqual(w["steps"], "40")
        XCTAssertEqual(w["step_seconds"], "0.5000")
        XCTAssertEqual(w["examples_per_second"], "2048.0")
        XCTAssertEqual(w["wire_bytes_per_step_sent"], "1000000")
        XCTAssertEqual(w["wire_bytes_per_step_received"], "1000")
        XCTAssertEqual(w["sparse_minimum_bytes_per_step_sent"], "10000")

        let stalled = try summary(["window", before, before, "--round", "1", "--side", "old"])
        XCTAssertNotEqual(stalled.status, 0)
        XCTAssertTrue(stalled.output.contains("no step was applied"), stalled.output)
    }

    func testTheTableTakesTheMedianOfPerRoundRatios() throws {
        let log = try write("speed.log", """
            # header
            RESULT round=1 side=old workers=2 epochs=3 epoch_seconds=40.000 examples_per_second=100.0 steps=10 wire_bytes_per_step_sent=36000000 sparse_minimum_bytes_per_step_sent=1000000
            RESULT round=1 side=new workers=2 epochs=3 epoch_seconds=20.000 examples_per_second=300.0 last_loss=7.4000 steps=10 wire_bytes_per_step_sent=2000000 sparse_minimum_bytes_per_step_sent=1000000
            RESULT round=1 side=pytorch workers=- epochs=3 epoch_seconds=30.000 examples_per_second=150.0 last_loss=7.5000
            RESULT round=2 side=new workers=2 epochs=3 epoch_seconds=25.000 examples_per_second=200.0 steps=10 wire_bytes_per_step_sent=2000000 sparse_minimum_bytes_per_step_sent=1000000
            RESULT round=2 side=old workers=2 epochs=3 epoch_seconds=50.000 examples_per_second=100.0 steps=10 wire_bytes_per_step_sent=36000000 sparse_minimum_bytes_per_step_sent=1000000
            RESULT round=2 side=pytorch workers=- epochs=3 epoch_seconds=20.000 examples_per_second=400.0

            """)
        let out = try summary(["summary", log])
        XCTAssertEqual(out.status, 0, out.output)
        let lines = out.output.split(separator: "\n").map(String.init)
        func cells(_ prefix: String) throws -> [String] {
            try XCTUnwrap(lines.first { $0.hasPrefix(prefix) }, out.output).split(separator: "|")
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        XCTAssertEqual(try cells("| round"), [
            "round", "old s/epoch", "new s/epoch", "PyTorch s/epoch", "old examples/s", "new examples/s",
            "PyTorch examples/s", "new/old", "new/PyTorch", "old MB/step sent", "new MB/step sent",
            "old / sparse minimum", "new / sparse minimum", "last loss old / new / PyTorch",
        ])
        XCTAssertEqual(try cells("| 1 |"), ["1", "40.00", "20.00", "30.00", "100", "300", "150", "3.00×", "2.00×",
                                            "36.00", "2.00", "36.00×", "2.00×", "- / 7.4000 / 7.5000"])
        // Medians: of the values, and of the per-round ratios (3.0 and 2.0 → 2.5; 2.0 and 0.5 → 1.25), not the
        // ratio of the medians (250 / 275).
        XCTAssertEqual(try cells("| **median**"), ["**median**", "**45.00**", "**22.50**", "**25.00**", "**100**",
                                                   "**250**", "**275**", "**2.50×**", "**1.25×**", "**36.00**",
                                                   "**2.00**", "**36.00×**", "**2.00×**", "-"])
    }

    func testTheNetnsWindowsAreGroupedByWorkerCount() throws {
        let log = try write("netns.log", """
            RESULT round=1 side=old workers=1 window_seconds=30.0 steps=60 step_seconds=0.5000 examples_per_second=2048.0 wire_bytes_per_step_sent=36000000
            RESULT round=1 side=new workers=1 window_seconds=30.0 steps=600 step_seconds=0.0500 examples_per_second=20480.0 wire_bytes_per_step_sent=1000000
            RESULT round=1 side=old workers=2 window_seconds=30.0 steps=40 step_seconds=0.7500 examples_per_second=1365.3 wire_bytes_per_step_sent=72000000
            RESULT round=1 side=new workers=2 window_seconds=30.0 steps=900 step_seconds=0.0333 examples_per_second=30720.0 wire_bytes_per_step_sent=2000000

            """)
        let out = try summary(["summary", log])
        XCTAssertEqual(out.status, 0, out.output)
        let lines = out.output.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("workers: 1") && lines.contains("workers: 2"), out.output)
        let header = try XCTUnwrap(lines.first { $0.hasPrefix("| round") })
        XCTAssertFalse(header.contains("PyTorch") || header.contains("s/epoch"), "no column without figures: \(header)")
        let rows = lines.filter { $0.hasPrefix("| 1 |") }
        XCTAssertEqual(rows.count, 2, out.output)
        XCTAssertTrue(rows[0].contains("| 10.00× |"), rows[0])
        XCTAssertTrue(rows[1].contains("| 22.50× |"), rows[1])
    }

    func testTheScriptsParseAndRefuseBadSettingsBeforeTheyStart() throws {
        for script in ["bench/lib.sh", "bench/baseline.sh", "bench/quality-speed.sh", "bench/netns.sh"] {
            let check = try run("/bin/bash", ["-n", script])
            XCTAssertEqual(check.status, 0, "\(script): \(check.output)")
        }
        let window = try run("/bin/bash", ["bench/netns.sh"], environment: ["WINDOW": "soon"])
        XCTAssertEqual(window.status, 2, window.output)
        XCTAssertTrue(window.output.contains("WINDOW must be a whole number"), window.output)
        let rounds = try run("/bin/bash", ["bench/quality-speed.sh"], environment: ["ROUNDS": "0"])
        XCTAssertEqual(rounds.status, 2, rounds.output)
        XCTAssertTrue(rounds.output.contains("ROUNDS must be a positive whole number"), rounds.output)
        let data = try run("/bin/bash", ["bench/quality-speed.sh"], environment: ["DATASET": "/nonexistent"])
        XCTAssertEqual(data.status, 2, data.output)
        XCTAssertTrue(data.output.contains("no such file or directory"), data.output)
        let evaluate = try run("/bin/bash", ["bench/quality-speed.sh"], environment: ["EVALUATE": "sometimes"])
        XCTAssertEqual(evaluate.status, 2, evaluate.output)
        XCTAssertTrue(evaluate.output.contains("EVALUATE must be last or each"), evaluate.output)
    }

    func testTheBinariesOfABuildAreFoundOrRefusedByName() throws {
        let tree = dir.appendingPathComponent("tree/.build/release")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        for name in ["coordinator", "worker"] {
            let path = tree.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
        }
        let script = "source bench/lib.sh && bench_binaries \"$1\""
        let found = try run("/bin/bash", ["-c", script, "bash", dir.appendingPathComponent("tree").path])
        XCTAssertEqual(found.status, 0, found.output)
        XCTAssertEqual(found.output.trimmingCharacters(in: .whitespacesAndNewlines), tree.path)
        let direct = try run("/bin/bash", ["-c", script, "bash", tree.path])
        XCTAssertEqual(direct.output.trimmingCharacters(in: .whitespacesAndNewlines), tree.path)
        let missing = try run("/bin/bash", ["-c", script, "bash", dir.path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("no coordinator and worker executables"), missing.output)

        // A directory that holds something else is never taken over as the baseline's checkout.
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let refused = try run("/bin/bash", ["-c", "source bench/lib.sh && bench_baseline_build HEAD \"$1\"", "bash",
                                            other.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("does not hold commit"), refused.output)
        let unknown = try run("/bin/bash", ["-c", "source bench/lib.sh && bench_baseline_build no-such-revision-x",
                                            "bash"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.output.contains("no commit 'no-such-revision-x'"), unknown.output)
    }
}
