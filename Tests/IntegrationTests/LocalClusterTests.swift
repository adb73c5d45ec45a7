import Coordinator
import Foundation
import Kernels
import TestSupport
import RunSettings
import XCTest

/// Real processes over TCP on 127.0.0.1: a coordinator and worker processes on synthetic data.
final class LocalClusterTests: XCTestCase {
    /// Common flags: small synthetic data, replica hashes checked on every gradient.
    func trainingFlags(port: Int, workers: Int, output: URL, epochs: Int = 3) -> [String] {
        ["--bind", "tcp://127.0.0.1:\(port)", "--workers", "\(workers)", "--epochs", "\(epochs)",
         "--synthetic-users", "600", "--synthetic-items", "400", "--batch-size", "768", "--minibatch-size", "256",
         "--negatives", "256", "--dim", "32", "--lr", "0.01", "--verify-replicas", "--output", output.path,
         "--log-level", "info"]
    }

    func runCluster(workers: Int, epochs: Int = 3, name: String, extraFlags: [String] = []) throws
        -> (output: URL, coordinatorLog: String)
    {
        let dir = try ProcessHarness.temporaryDirectory(name)
        let port = ProcessHarness.freePort()
        let output = dir.appendingPathComponent("run")
        // Workers first: they must wait for the coordinator to appear.
        var workerProcesses: [ProcessHarness.Running] = []
        for i in 0 ..< workers {
            workerProcesses.append(try ProcessHarness.start(
                "worker", ["--coordinator", "tcp://127.0.0.1:\(port)", "--name", "w\(i)"], logName: "worker\(i)", in: dir))
        }
        usleep(300_000)
        let coordinator = try ProcessHarness.start("coordinator", trainingFlags(port: port, workers: workers, output: output, epochs: epochs) + extraFlags,
                                                   logName: "coordinator", in: dir)
        let status = coordinator.wait(seconds: 240)
        let workerStatuses = workerProcesses.map { $0.wait(seconds: 10) }
        XCTAssertEqual(status, 0, "coordinator failed:\n\(coordinator.log)")
        for (i, s) in workerStatuses.enumerated() {
            XCTAssertEqual(s, 0, "worker \(i) did not exit cleanly:\n\(workerProcesses[i].log)")
        }
        return (output, coordinator.log)
    }

    func testThreeWorkersTrainAboveRandomWithExactAuditsAndAgreeingReplicas() throws {
        let (output, log) = try runCluster(workers: 3, name: "three-workers")
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let epochs = lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.count, 3, log)
        for e in epochs { XCTAssertEqual(e["audit_exact"] as? Bool, true, "audit of \(e)") }
        let end = try XCTUnwrap(lines.first { $0["event"] as? String == "end" })
        XCTAssertEqual(end["replica_mismatches"] as? Int, 0)
        // Each epoch says when its scores were known: after its training and evaluation, before the run's end.
        let elapsed = epochs.map { $0["elapsed_seconds"] as? Double ?? -1 }
        for (e, t) in zip(epochs, elapsed) {
            let least = (e["train_seconds"] as? Double ?? .infinity) + (e["evaluation_seconds"] as? Double ?? .infinity)
            XCTAssertGreaterThanOrEqual(t, least, "elapsed_seconds of \(e)")
        }
        XCTAssertEqual(elapsed, elapsed.sorted(), "elapsed_seconds grows epoch by epoch")
        XCTAssertLessThanOrEqual(elapsed.last ?? .infinity, try XCTUnwrap(end["wall_seconds"] as? Double))
        // Traffic: every byte the sparse minimum counts travels, with headers, tasks and heartbeats on top, and
        // little else: a STEP carries the rows its tasks read.
        let steps = try XCTUnwrap(end["steps"] as? Int)
        let sent = try XCTUnwrap(end["wire_bytes_sent"] as? Int)
        let received = try XCTUnwrap(end["wire_bytes_received"] as? Int)
        let minimumSent = try XCTUnwrap(end["sparse_minimum_bytes_sent"] as? Int)
        let minimumReceived = try XCTUnwrap(end["sparse_minimum_bytes_received"] as? Int)
        XCTAssertGreaterThan(try XCTUnwrap(end["wire_messages_sent"] as? Int), steps)
        XCTAssertGreaterThan(try XCTUnwrap(end["wire_messages_received"] as? Int), steps)
        XCTAssertGreaterThan(minimumReceived, 0)
        XCTAssertGreaterThan(minimumSent, 0)
        XCTAssertEqual(minimumReceived % (32 * 4 + 4), 0, "whole rows of d 32")
        XCTAssertEqual(minimumSent % (32 * 4 + 4), 0, "whole rows of d 32")
        XCTAssertGreaterThan(sent, minimumSent)
        XCTAssertGreaterThan(received, minimumReceived)
        XCTAssertLessThanOrEqual(Double(sent), 1.2 * Double(minimumSent), "bytes sent against the rows the tasks read")
        XCTAssertLessThanOrEqual(Double(received), 1.2 * Double(minimumReceived), "bytes received against the gradient rows")
        let toFirstStep = try XCTUnwrap(end["seconds_to_first_step"] as? Double)
        XCTAssertGreaterThan(toFirstStep, 0)
        XCTAssertLessThan(toFirstStep, try XCTUnwrap(end["wall_seconds"] as? Double))
        // Random ranking of 400 items (less a user's training items) gives Recall@20 near 0.05.
        let recall = try XCTUnwrap(epochs.last?["recall@20"] as? Double)
        XCTAssertGreaterThan(recall, 0.15, "Recall@20 \(recall) is not clearly above random\n\(log)")
        let firstLoss = try XCTUnwrap(epochs.first?["loss"] as? Double)
        let lastLoss = try XCTUnwrap(epochs.last?["loss"] as? Double)
        XCTAssertLessThan(lastLoss, firstLoss)
        let users = try ProcessHarness.readNpy(output.appendingPathComponent("user_embeddings.npy"))
        XCTAssertEqual(users.rows, 600)
        XCTAssertEqual(users.cols, 32)
        XCTAssertEqual(users.values.count, 600 * 32)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("items.tsv").path))
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasSuffix(".mbt") }
        XCTAssertFalse(checkpoints.isEmpty)
    }

    func testValidationSplitChoosesAnEpochAndEarlyStoppingEndsTheRun() throws {
        // Steps far too small to change any ranking: every epoch after the first ties it, and a tie is no
        // improvement, so training ends once the evaluation of epoch 3 is in.
        let (output, log) = try runCluster(workers: 2, epochs: 12, name: "early-stop",
                                           extraFlags: ["--validation-fraction", "0.2", "--patience", "2",
                                                        "--optimizer", "sgd", "--lr", "1e-9"])
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" })
        XCTAssertGreaterThan(try XCTUnwrap(start["validation"] as? Int), 0)
        let epochs = lines.filter { $0["event"] as? String == "epoch" }
        for e in epochs {
            XCTAssertNotNil(e["val_recall@20"] as? Double, "validation figures in \(e)")
            XCTAssertEqual(e["audit_exact"] as? Bool, true, "every epoch that ran is complete")
        }
        let stop = try XCTUnwrap(lines.first { $0["event"] as? String == "early_stop" }, log)
        let selection = try XCTUnwrap(lines.first { $0["event"] as? String == "selection" })
        XCTAssertEqual(selection["stopped_early"] as? Bool, true)
        XCTAssertLessThan(epochs.count, 12, "stopped early")
        XCTAssertEqual(stop["after_epoch"] as? Int, epochs.count)
        // The chosen epoch is the first with the highest validation Recall, at least `patience` epochs before the end.
        let validation = epochs.map { $0["val_recall@20"] as! Double }
        let best = validation.firstIndex(of: validation.max()!)! + 1
        XCTAssertEqual(selection["validation_chosen_epoch"] as? Int, best)
        XCTAssertGreaterThanOrEqual(epochs.count - best, 2)
        XCTAssertEqual(selection["validation_chosen_recall@20"] as? Double, epochs[best - 1]["recall@20"] as? Double)
        let tests = epochs.map { $0["recall@20"] as! Double }
        XCTAssertEqual(selection["test_chosen_epoch"] as? Int, tests.firstIndex(of: tests.max()!)! + 1)
        XCTAssertTrue(log.contains("chosen by validation (epoch \(best))"), log)
        let bestUsers = try ProcessHarness.readNpy(output.appendingPathComponent("best_user_embeddings.npy"))
        XCTAssertEqual(bestUsers.rows, 600)
        XCTAssertEqual(bestUsers.cols, 32)
    }

    func testPresetSetsTheLossAndFlagsGivenAsWellOverrideIt() throws {
        let (output, log) = try runCluster(workers: 1, epochs: 1, name: "preset",
                                           extraFlags: ["--preset", "quality", "--negatives", "64",
                                                        "--validation-fraction", "0.1"])
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" }, log)
        XCTAssertEqual(start["negatives"] as? Int, 64, "the flag wins over the preset's 2048")
        XCTAssertEqual(start["epochs"] as? Int, 1, "the flag wins over the preset's 20")
        XCTAssertEqual(start["live_negatives"] as? Bool, true, "from the preset")
        XCTAssertEqual(start["hard_negatives"] as? Int, 32, "from the preset")
        XCTAssertEqual(start["hard_negative_skip"] as? Int, 8, "from the preset")
        // The preset's temperatures follow the density of the training pairs (before the validation split).
        let users = try XCTUnwrap(start["users"] as? Int), items = try XCTUnwrap(start["items"] as? Int)
        let pairs = try XCTUnwrap(start["train"] as? Int) + XCTUnwrap(start["validation"] as? Int)
        let shape = DataShape(users: users, items: items, pairs: pairs)
        let expected = TrainingPreset.qualityRule.temperatures(density: shape.density)
        XCTAssertEqual(try XCTUnwrap(start["temperature"] as? Double), Double(expected.temperature), accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(start["positive_temperature"] as? Double), Double(expected.positiveTemperature),
                       accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(start["weight_decay"] as? Double),
                       Double(TrainingPreset.qualityRule.weightDecay(density: shape.density)), accuracy: 1e-9)
        XCTAssertTrue(log.contains("(density \(String(format: "%.2g", shape.density))): 64 negatives, τ \(expected.temperature)"), log)
        XCTAssertGreaterThan(try XCTUnwrap(start["validation"] as? Int), 0, "the flag's validation split")
        XCTAssertEqual(start["patience"] as? Int, 0, "the preset has no early stopping")
        XCTAssertEqual(lines.filter { $0["event"] as? String == "epoch" }.count, 1)
    }

    func testSpawnedWorkersExitWhenTheirCoordinatorIsKilled() throws {
        let dir = try ProcessHarness.temporaryDirectory("orphans")
        let coordinator = try ProcessHarness.start("coordinator", [
            "--spawn-workers", "2", "--bind", "tcp://127.0.0.1:0", "--epochs", "1000", "--synthetic-users", "600",
            "--synthetic-items", "400", "--dim", "16", "--output", dir.appendingPathComponent("run").path,
        ], logName: "coordinator", in: dir)
        defer { coordinator.signal(SIGKILL) }
        // The pids from "started 2 local worker process(es): pids [a, b]", once training runs.
        var pids: [Int32] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let log = coordinator.log
            if log.contains("│"), let range = log.range(of: #"pids \[[0-9, ]+\]"#, options: .regularExpression) {
                pids = log[range].dropFirst(6).dropLast().split(separator: ",").compactMap {
                    Int32($0.trimmingCharacters(in: .whitespaces))
                }
                break
            }
            usleep(100_000)
        }
        XCTAssertEqual(pids.count, 2, coordinator.log)
        for pid in pids { XCTAssertEqual(kill(pid, 0), 0, "worker \(pid) runs") }
        coordinator.signal(SIGKILL)
        _ = coordinator.wait(seconds: 10)
        let gone = Date().addingTimeInterval(5)
        while Date() < gone, pids.contains(where: { kill($0, 0) == 0 }) { usleep(100_000) }
        for pid in pids {
            XCTAssertNotEqual(kill(pid, 0), 0, "worker \(pid) still runs 5 s after its coordinator was killed")
            kill(pid, SIGKILL)
        }
    }

    func testTimeLimitEndsTrainingWithTheEpochInProgress() throws {
        let (output, log) = try runCluster(workers: 1, epochs: 500, name: "time-limit", extraFlags: ["--time-limit", "2"])
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let limit = try XCTUnwrap(lines.first { $0["event"] as? String == "time_limit" }, log)
        let epochs = lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertLessThan(epochs.count, 500)
        XCTAssertEqual(limit["after_epoch"] as? Int, epochs.count)
        for e in epochs { XCTAssertEqual(e["audit_exact"] as? Bool, true, "the last epoch is complete too") }
    }

    /// Dense Adam over the wire: every step also moves rows that no worker sent a gradient for, yet no more rows
    /// travel than with lazy Adam (a row catches up when a STEP reads it), and every gradient was computed from the
    /// rows the coordinator sent (--verify-replicas).
    func testDenseAdamSendsOnlyTheRowsTheStepsRead() throws {
        let lazy = try runCluster(workers: 2, epochs: 2, name: "adam-lazy").output
        let dense = try runCluster(workers: 2, epochs: 2, name: "adam-dense", extraFlags: ["--optimizer", "dense-adam"]).output
        func events(_ output: URL) throws -> (start: [String: Any], end: [String: Any]) {
            let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
            return (try XCTUnwrap(lines.first { $0["event"] as? String == "start" }),
                    try XCTUnwrap(lines.first { $0["event"] as? String == "end" }))
        }
        let (lazyStart, lazyEnd) = try events(lazy), (denseStart, denseEnd) = try events(dense)
        XCTAssertEqual(lazyStart["optimizer"] as? String, "adam")
        XCTAssertEqual(denseStart["optimizer"] as? String, "dense-adam")
        XCTAssertEqual(denseEnd["replica_mismatches"] as? Int, 0, "--verify-replicas checked every gradient")
        XCTAssertEqual(denseEnd["steps"] as? Int, lazyEnd["steps"] as? Int)
        let lazyRows = try XCTUnwrap(lazyEnd["sparse_minimum_bytes_sent"] as? Int)
        let denseRows = try XCTUnwrap(denseEnd["sparse_minimum_bytes_sent"] as? Int)
        XCTAssertEqual(denseRows, lazyRows, "the same tasks read the same rows, whatever the optimizer")
        // Dense Adam taken lazily (and caught up ahead for the next step) gives the bits of stepping every row every
        // step: this is the final hash of the same run by the eager dense Adam of protocol version 1 (commit
        // cb3c44a, whose STEPs carried every moved row to every worker).
        XCTAssertEqual(denseEnd["final_hash"] as? String, "730319ee55585d0b")
        let denseSent = try XCTUnwrap(denseEnd["wire_bytes_sent"] as? Int)
        XCTAssertLessThanOrEqual(Double(denseSent), 1.2 * Double(denseRows))
        let a = try ProcessHarness.readNpy(lazy.appendingPathComponent("item_embeddings.npy")).values
        let b = try ProcessHarness.readNpy(dense.appendingPathComponent("item_embeddings.npy")).values
        XCTAssertGreaterThan(zip(a, b).filter { $0 != $1 }.count, a.count / 2)
        XCTAssertTrue(b.allSatisfy(\.isFinite))

        let dir = try ProcessHarness.temporaryDirectory("bad-optimizer")
        let bad = try ProcessHarness.start("coordinator", ["--optimizer", "adamw"], logName: "bad", in: dir)
        XCTAssertNotEqual(bad.wait(seconds: 30), 0)
        XCTAssertTrue(bad.log.contains("--optimizer must be one of adam, dense-adam, sgd, adagrad (got adamw)"), bad.log)
    }

    func testWeightDecayFlagOverridesThePresetAndReachesTheOptimizer() throws {
        let common = ["--preset", "quality", "--negatives", "64"]
        let decayed = try runCluster(workers: 1, epochs: 1, name: "decay", extraFlags: common + ["--weight-decay", "0.01"])
        let plain = try runCluster(workers: 1, epochs: 1, name: "no-decay", extraFlags: common + ["--weight-decay", "0"])
        func start(_ output: URL) throws -> [String: Any] {
            try XCTUnwrap(try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
                .first { $0["event"] as? String == "start" })
        }
        XCTAssertEqual(try XCTUnwrap(start(decayed.output)["weight_decay"] as? Double), 0.01, accuracy: 1e-9)
        XCTAssertEqual(try start(plain.output)["weight_decay"] as? Double, 0)
        XCTAssertTrue(decayed.coordinatorLog.contains("weight decay 0.01,"), decayed.coordinatorLog)
        let a = try ProcessHarness.readNpy(decayed.output.appendingPathComponent("user_embeddings.npy")).values
        let b = try ProcessHarness.readNpy(plain.output.appendingPathComponent("user_embeddings.npy")).values
        XCTAssertGreaterThan(zip(a, b).filter { $0 != $1 }.count, a.count / 2, "the decay moved the rows")
        let norm = { (v: [Float]) in v.reduce(0) { $0 + Double($1 * $1) } }
        XCTAssertLessThan(norm(a), norm(b), "L2 decay shrinks the rows")

        let dir = try ProcessHarness.temporaryDirectory("bad-decay")
        let bad = try ProcessHarness.start("coordinator", ["--weight-decay=-1"], logName: "bad", in: dir)
        XCTAssertNotEqual(bad.wait(seconds: 30), 0)
        XCTAssertTrue(bad.log.contains("--weight-decay must be finite and at least 0 (got -1.0)"), bad.log)
    }

    /// `--blas`: the default loads the build scripts/setup.sh installs; `system` keeps the linked one, in the
    /// coordinator and in the workers it spawns; a library that cannot be loaded stops either executable.
    func testBLASFlagChoosesTheBuildInEveryProcess() throws {
        let installed = BLAS.installedLibraryPath
        let byDefault = try runCluster(workers: 1, epochs: 1, name: "blas-default").coordinatorLog
        XCTAssertTrue(byDefault.contains("BLAS: OpenBLAS 0.3.34"), byDefault)
        XCTAssertTrue(byDefault.contains("(\(installed))"), "run scripts/setup.sh to install \(installed):\n\(byDefault)")

        let dir = try ProcessHarness.temporaryDirectory("blas-system")
        let spawned = try ProcessHarness.start("coordinator", [
            "--spawn-workers", "2", "--bind", "tcp://127.0.0.1:0", "--epochs", "1", "--synthetic-users", "300",
            "--synthetic-items", "200", "--batch-size", "256", "--negatives", "64", "--dim", "16",
            "--output", dir.appendingPathComponent("run").path, "--blas", "system", "--log-level", "debug",
        ], logName: "coordinator", in: dir)
        XCTAssertEqual(spawned.wait(seconds: 120), 0, spawned.log)
        let linkedLines = spawned.log.split(separator: "\n").filter { $0.contains("BLAS: ") }
        XCTAssertEqual(linkedLines.count, 3, "the coordinator and both workers say which BLAS:\n\(spawned.log)")
        for line in linkedLines { XCTAssertTrue(line.hasSuffix("(linked)"), String(line)) }

        let missing = "/nonexistent/libnothing.so"
        let bad = try ProcessHarness.start("coordinator", ["--blas", missing], logName: "bad", in: dir)
        XCTAssertNotEqual(bad.wait(seconds: 30), 0)
        XCTAssertTrue(bad.log.contains("cannot load BLAS library \(missing)"), bad.log)
        let badWorker = try ProcessHarness.start("worker", ["--coordinator", "tcp://127.0.0.1:1", "--blas", missing],
                                                 logName: "bad-worker", in: dir)
        XCTAssertNotEqual(badWorker.wait(seconds: 30), 0)
        XCTAssertTrue(badWorker.log.contains("cannot load BLAS library \(missing)"), badWorker.log)
    }

    func testLearningRateScheduleReachesTheOptimizer() throws {
        let constant = try runCluster(workers: 1, epochs: 2, name: "lr-constant").output
        let cosine = try runCluster(workers: 1, epochs: 2, name: "lr-cosine", extraFlags: ["--lr-schedule", "cosine:0"]).output
        let start = try XCTUnwrap(try ProcessHarness.jsonLines(cosine.appendingPathComponent("metrics.jsonl"))
            .first { $0["event"] as? String == "start" })
        XCTAssertEqual(start["lr_schedule"] as? String, "cosine(finalFraction: 0.0)")
        let a = try ProcessHarness.readNpy(constant.appendingPathComponent("user_embeddings.npy")).values
        let b = try ProcessHarness.readNpy(cosine.appendingPathComponent("user_embeddings.npy")).values
        let moved = zip(a, b).filter { $0 != $1 }.count
        XCTAssertGreaterThan(moved, a.count / 2, "a decaying rate ends elsewhere than a constant one")
        XCTAssertTrue(b.allSatisfy(\.isFinite))
    }

    func testOneAndThreeWorkersEndWithTheSameParameters() throws {
        try compareOneAndThreeWorkers(flags: [])
    }

    /// The quality preset's loss (live negatives, bilateral softmax) and its validation split, with a cosine
    /// learning-rate schedule: the same parameters and the same figures every epoch.
    func testOneAndThreeWorkersEndWithTheSameParametersWithTheQualityPresetsLoss() throws {
        let (one, three) = try compareOneAndThreeWorkers(flags: [
            "--preset", "quality", "--epochs", "2", "--negatives", "128", "--patience", "0", "--lr-schedule", "cosine",
            "--validation-fraction", "0.1",
        ])
        let figures = try [one, three].map { output in
            try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
                .filter { $0["event"] as? String == "epoch" }
                .map { [$0["recall@20"] as? Double ?? -1, $0["ndcg@20"] as? Double ?? -1, $0["val_recall@20"] as? Double ?? -1] }
        }
        XCTAssertEqual(figures[0].count, 2)
        XCTAssertFalse(figures[0].joined().contains(-1), "every epoch has test and validation figures: \(figures[0])")
        XCTAssertEqual(figures[0], figures[1])
    }

    /// Bank negatives with gradients into the live item rows, with the quality preset's optimizer and schedule:
    /// the preset's live negatives give way, the start event says so, every GRADIENT meets its contract (the
    /// trained negatives' rows among it), and one and three workers end with the same parameters and bank.
    func testOneAndThreeWorkersEndWithTheSameParametersWithTrainedBankNegatives() throws {
        let (one, _) = try compareOneAndThreeWorkers(flags: [
            "--preset", "quality", "--epochs", "2", "--negatives", "128", "--trained-bank-negatives",
        ])
        let lines = try ProcessHarness.jsonLines(one.appendingPathComponent("metrics.jsonl"))
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" })
        XCTAssertEqual(start["trained_bank_negatives"] as? Bool, true)
        XCTAssertEqual(start["live_negatives"] as? Bool, false)
        let end = try XCTUnwrap(lines.first { $0["event"] as? String == "end" })
        XCTAssertEqual(end["replica_mismatches"] as? Int, 0, "--verify-replicas checked every gradient")
        XCTAssertEqual((end["rejected"] as? [String: Any])?.count, 0, "no GRADIENT broke its contract: \(end)")
        let recall = lines.filter { $0["event"] as? String == "epoch" }.compactMap { $0["recall@20"] as? Double }
        XCTAssertEqual(recall.count, 2)
    }

    /// Hard negatives mined from the bank beside the quality preset's live negatives: the start event names them,
    /// the users' training items reach the workers, every GRADIENT meets its contract (the chosen pool rows among
    /// it), and one and three workers end with the same parameters and bank.
    func testOneAndThreeWorkersEndWithTheSameParametersWithHardNegatives() throws {
        let (one, _) = try compareOneAndThreeWorkers(flags: [
            "--preset", "quality", "--epochs", "2", "--negatives", "64", "--hard-negatives", "4",
            "--hard-negative-pool", "48",
        ])
        let lines = try ProcessHarness.jsonLines(one.appendingPathComponent("metrics.jsonl"))
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" })
        XCTAssertEqual(start["hard_negatives"] as? Int, 4)
        XCTAssertEqual(start["hard_negative_pool"] as? Int, 48)
        XCTAssertEqual(start["momentum"] as? Double, Double(RunDefaults.momentum), "the bank's momentum, for the PyTorch recipe")
        XCTAssertEqual(start["live_negatives"] as? Bool, true)
        let end = try XCTUnwrap(lines.first { $0["event"] as? String == "end" })
        XCTAssertEqual(end["replica_mismatches"] as? Int, 0, "--verify-replicas checked every gradient")
        XCTAssertEqual((end["rejected"] as? [String: Any])?.count, 0, "no GRADIENT broke its contract: \(end)")
        let log = try String(contentsOf: one.deletingLastPathComponent().appendingPathComponent("coordinator.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("leaving each user's training items out of its hard negatives"), log)
    }

    /// `--eval-every 2` over 3 epochs: epoch 2 and the last are evaluated; epoch 1's record has its loss, speed and
    /// audit but no figures, and the table shows dashes for them.
    func testEpochsBetweenEvaluationsAreRecordedWithoutFigures() throws {
        let (output, log) = try runCluster(workers: 1, epochs: 3, name: "eval-every", extraFlags: ["--eval-every", "2"])
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(lines.first { $0["event"] as? String == "start" }?["eval_every"] as? Int, 2)
        let epochs = lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.map { $0["epoch"] as? Int }, [1, 2, 3])
        XCTAssertEqual(epochs.map { $0["recall@20"] != nil }, [false, true, true])
        XCTAssertEqual(epochs[0]["audit_exact"] as? Bool, true)
        XCTAssertNotNil(epochs[0]["loss"] as? Double)
        XCTAssertTrue(log.contains("last epoch Recall@20"), log)
        let report = try String(contentsOf: output.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("<svg"), "the report still draws its charts")
    }

    /// Masking the users' training items: the lists reach the workers in WELCOME, and one and three workers end
    /// with the same parameters, their replicas checked on every gradient.
    func testOneAndThreeWorkersEndWithTheSameParametersWhenSeenItemsAreMasked() throws {
        let (one, _) = try compareOneAndThreeWorkers(flags: ["--mask-seen-items"])
        let log = try String(contentsOf: one.deletingLastPathComponent().appendingPathComponent("coordinator.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("masking each user's training items among its negatives"), log)
    }

    /// A 2 % validation split holds out nothing when every user has few items (round(0.02 · n) is 0 below 25
    /// items): the run says so and trains on all of it, without early stopping, instead of failing or selecting on
    /// an empty split.
    func testAValidationSplitThatHoldsOutNothingIsReportedAndTurnedOff() throws {
        let (output, log) = try runCluster(workers: 1, epochs: 1, name: "empty-validation",
                                           extraFlags: ["--preset", "quality", "--negatives", "64",
                                                        "--validation-fraction", "0.02", "--patience", "5"])
        XCTAssertTrue(log.contains("holds out nothing"), log)
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let start = try XCTUnwrap(lines.first { $0["event"] as? String == "start" })
        XCTAssertEqual(start["validation"] as? Int, 0)
        XCTAssertEqual(start["patience"] as? Int, 0)
        let epochs = lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.count, 1, log)
        XCTAssertNil(epochs.first?["val_recall@20"])
        XCTAssertNotNil(epochs.first?["recall@20"])
    }

    @discardableResult
    func compareOneAndThreeWorkers(flags: [String]) throws -> (URL, URL) {
        let one = try runCluster(workers: 1, epochs: 2, name: "one-worker", extraFlags: flags).output
        let three = try runCluster(workers: 3, epochs: 2, name: "three-workers", extraFlags: flags).output
        for file in ["user_embeddings.npy", "item_embeddings.npy", "bank.npy"] {
            let a = try ProcessHarness.readNpy(one.appendingPathComponent(file)).values
            let b = try ProcessHarness.readNpy(three.appendingPathComponent(file)).values
            XCTAssertEqual(a.count, b.count)
            // Gradients are summed per minibatch in minibatch order whatever the worker count, so the tolerance
            // for float summation order is zero here; allow 1e-6 in case a BLAS kernel splits work differently.
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(file) differs by \(worst)")
        }
        return (one, three)
    }

    func testUnreachableCoordinatorIsAClearWaitNotACrash() throws {
        let dir = try ProcessHarness.temporaryDirectory("bad-input")
        let bad = try ProcessHarness.start("coordinator", ["--dataset", "/nonexistent/data"], logName: "bad", in: dir)
        XCTAssertNotEqual(bad.wait(seconds: 30), 0)
        XCTAssertTrue(bad.log.contains("/nonexistent/data"), bad.log)
        let badFlag = try ProcessHarness.start("coordinator", ["--loss", "hinge"], logName: "badflag", in: dir)
        XCTAssertNotEqual(badFlag.wait(seconds: 30), 0)
        XCTAssertTrue(badFlag.log.contains("--loss must be one of"), badFlag.log)
        let badEndpoint = try ProcessHarness.start("worker", ["--coordinator", "localhost:5555"], logName: "badendpoint", in: dir)
        XCTAssertNotEqual(badEndpoint.wait(seconds: 30), 0)
        XCTAssertTrue(badEndpoint.log.contains("tcp://"), badEndpoint.log)
        let lonely = try ProcessHarness.start("worker", ["--coordinator", "tcp://127.0.0.1:\(ProcessHarness.freePort())",
                                                         "--give-up-after", "1"], logName: "lonely", in: dir)
        XCTAssertNotEqual(lonely.wait(seconds: 30), 0)
        XCTAssertTrue(lonely.log.contains("giving up"), lonely.log)
    }
}
