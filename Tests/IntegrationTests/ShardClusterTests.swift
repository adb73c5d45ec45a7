import Foundation
import TestSupport
import XCTest

/// The parameters held by state shard processes (`--spawn-shards`): the same run with 2 or 3 shards ends with the
/// same parameters, bit for bit, as the coordinator alone, with 1 or 3 workers; a shard that dies stops the run
/// with an error that names it.
final class ShardClusterTests: XCTestCase {
    /// The quality preset with hard negatives (dense Adam, live and bank-at-live-length rows, seen items) on small
    /// synthetic data, minibatches of a fixed size so that 1 and 3 workers run the same steps.
    private func flags(epochs: Int = 2) -> [String] { [
        "--bind", "tcp://127.0.0.1:0", "--synthetic-users", "500", "--synthetic-items", "300", "--preset", "quality",
        "--epochs", "\(epochs)", "--batch-size", "384", "--minibatch-size", "128", "--negatives", "64",
        "--hard-negatives", "4", "--hard-negative-pool", "48", "--dim", "16", "--verify-replicas", "--log-level", "info",
    ] }

    private func run(workers: Int, shards: Int, name: String, extra: [String] = [])
        throws -> (end: [String: Any], log: String, output: URL)
    {
        let dir = try ProcessHarness.temporaryDirectory(name)
        let output = dir.appendingPathComponent("run")
        let coordinator = try ProcessHarness.start(
            "coordinator", flags() + ["--spawn-workers", "\(workers)", "--output", output.path] + extra
                + (shards > 0 ? ["--spawn-shards", "\(shards)"] : []),
            logName: "coordinator", in: dir)
        XCTAssertEqual(coordinator.wait(seconds: 240), 0, "coordinator failed:\n\(coordinator.log)")
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        return (try XCTUnwrap(lines.first { $0["event"] as? String == "end" }), coordinator.log, output)
    }

    /// Each epoch's figures of a run.
    private func epochFigures(_ output: URL) throws -> [Double] {
        try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
            .filter { $0["event"] as? String == "epoch" }
            .flatMap { [$0["recall@20"] as? Double ?? -1, $0["ndcg@20"] as? Double ?? -1] }
    }

    /// An evaluation of a sample of the users gathers only their rows from the shards, and gives the figures of
    /// the coordinator alone.
    func testASampledEvaluationWithShardsGivesTheFiguresOfTheCoordinatorAlone() throws {
        let sample = ["--evaluation-users", "120"]
        let alone = try run(workers: 1, shards: 0, name: "shards-sample-alone", extra: sample)
        let sharded = try run(workers: 1, shards: 2, name: "shards-sample", extra: sample)
        let figures = try epochFigures(alone.output)
        XCTAssertEqual(figures.count, 4, alone.log)
        XCTAssertTrue(figures.allSatisfy { $0 >= 0 }, "\(figures)")
        XCTAssertEqual(try epochFigures(sharded.output), figures)
        XCTAssertEqual(sharded.end["final_hash"] as? String, alone.end["final_hash"] as? String)
        // The same run evaluating every user gathers the whole user table: more bytes from the shards.
        let whole = try run(workers: 1, shards: 2, name: "shards-sample-whole")
        let sampledBytes = try XCTUnwrap(sharded.end["shard_bytes_received"] as? Int)
        let wholeBytes = try XCTUnwrap(whole.end["shard_bytes_received"] as? Int)
        XCTAssertGreaterThan(wholeBytes - sampledBytes, 2 * (500 - 120) * 16 * 4,
                             "two evaluations of 380 users fewer, 16 floats each")
    }

    func testShardsEndWithTheParametersOfTheCoordinatorAloneBitForBit() throws {
        let alone = try run(workers: 1, shards: 0, name: "shards-none")
        let hash = try XCTUnwrap(alone.end["final_hash"] as? String)
        for (workers, shards) in [(1, 2), (3, 3)] {
            let sharded = try run(workers: workers, shards: shards, name: "shards-\(shards)")
            XCTAssertTrue(sharded.log.contains("opening the run on \(shards) state shards"), sharded.log)
            XCTAssertEqual(sharded.end["final_hash"] as? String, hash,
                           "\(workers) worker(s), \(shards) shards: the users, items and bank of the run alone")
            XCTAssertEqual(sharded.end["replica_mismatches"] as? Int, 0)
            XCTAssertEqual((sharded.end["rejected"] as? [String: Any])?.count, 0,
                           "every GRADIENT met its contract, derived from the rows the shards sent: \(sharded.end)")
            XCTAssertEqual(sharded.end["shards"] as? Int, shards)
            XCTAssertGreaterThan(sharded.end["shard_bytes_sent"] as? Int ?? 0, 0)
            for file in ["user_embeddings.npy", "item_embeddings.npy", "bank.npy"] {
                XCTAssertEqual(try Data(contentsOf: sharded.output.appendingPathComponent(file)),
                               try Data(contentsOf: alone.output.appendingPathComponent(file)),
                               "\(file), written slice by slice from the shards")
            }
        }
    }

    /// A spawned shard killed mid-run: the coordinator stops with an error naming it and the checkpoint instead of
    /// training without its rows; run again with --resume (new shards, restored from their files in --output), it
    /// ends with the parameters of the coordinator alone.
    func testALostShardStopsTheRunAndResumeEndsWithTheParametersOfAFaultFreeRun() throws {
        let epochs = 12
        let dir = try ProcessHarness.temporaryDirectory("shard-lost")
        let output = dir.appendingPathComponent("run")
        let arguments = flags(epochs: epochs) + ["--spawn-workers", "1", "--spawn-shards", "2", "--shard-timeout", "5",
                                                 "--checkpoint-every", "2", "--output", output.path]
        let coordinator = try ProcessHarness.start("coordinator", arguments, logName: "coordinator", in: dir)
        var pids: [Int32] = []
        for _ in 0 ..< 600 where pids.isEmpty {   // "started 2 local state shard(s): pids [a, b], at …"
            usleep(50_000)
            if let line = coordinator.log.split(separator: "\n").first(where: { $0.contains("local state shard(s): pids [") }),
               let open = line.range(of: "pids ["), let close = line[open.upperBound...].firstIndex(of: "]") {
                pids = line[open.upperBound ..< close].split(separator: ",").compactMap {
                    Int32($0.trimmingCharacters(in: .whitespaces))
                }
            }
        }
        XCTAssertEqual(pids.count, 2, coordinator.log)
        func epochsDone() -> Int {
            ((try? ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))) ?? [])
                .filter { $0["event"] as? String == "epoch" }.count
        }
        for _ in 0 ..< 2400 where epochsDone() < 2 { usleep(25_000) }   // two epochs checkpointed
        usleep(300_000)   // into the third
        kill(try XCTUnwrap(pids.last), SIGKILL)
        let status = coordinator.wait(seconds: 120)
        XCTAssertNotNil(status, "the coordinator did not stop:\n\(coordinator.log)")
        XCTAssertNotEqual(status, 0, coordinator.log)
        XCTAssertTrue(coordinator.log.contains("state shard 2 (pid \(pids[1]))") || coordinator.log.contains("shard 2 at"),
                      "the error names the shard:\n\(coordinator.log)")
        XCTAssertTrue(coordinator.log.contains("--resume: it continues from \(output.path)/shards-checkpoint-"), coordinator.log)

        let resumed = try ProcessHarness.start("coordinator", arguments + ["--resume"], logName: "resumed", in: dir)
        XCTAssertEqual(resumed.wait(seconds: 240), 0, "resumed coordinator failed:\n\(resumed.log)")
        XCTAssertTrue(resumed.log.contains("on 2 state shards: step"), resumed.log)
        let lines = try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
        let end = try XCTUnwrap(lines.last { $0["event"] as? String == "end" })
        XCTAssertEqual(Set(lines.filter { $0["event"] as? String == "epoch" }.compactMap { $0["epoch"] as? Int }),
                       Set(1 ... epochs), "every epoch reported")
        XCTAssertTrue(lines.filter { $0["event"] as? String == "epoch" }.allSatisfy { $0["audit_exact"] as? Bool == true })

        let aloneDir = try ProcessHarness.temporaryDirectory("shard-lost-alone")
        let alone = try ProcessHarness.start("coordinator", flags(epochs: epochs) + [
            "--spawn-workers", "1", "--output", aloneDir.appendingPathComponent("run").path,
        ], logName: "alone", in: aloneDir)
        XCTAssertEqual(alone.wait(seconds: 240), 0, alone.log)
        let aloneEnd = try XCTUnwrap(try ProcessHarness.jsonLines(aloneDir.appendingPathComponent("run/metrics.jsonl"))
            .last { $0["event"] as? String == "end" })
        XCTAssertEqual(end["final_hash"] as? String, aloneEnd["final_hash"] as? String,
                       "killed, restarted and resumed: the parameters of the fault-free run")
    }

    /// CurveZMQ on every link: shards that admit only the coordinator's key, a coordinator that admits only the
    /// worker's; the run ends with the parameters of the plain-text coordinator alone. A plain-text coordinator
    /// cannot reach those shards.
    func testEncryptedShardLinksGiveTheSameParametersAndRefuseAPlainTextCoordinator() throws {
        let dir = try ProcessHarness.temporaryDirectory("shards-curve")
        let keys = dir.appendingPathComponent("keys").path
        for name in ["coordinator", "shard", "worker"] {
            let keygen = try ProcessHarness.start("coordinator", ["keygen", "--out", keys, "--name", name],
                                                  logName: "keygen-\(name)", in: dir)
            XCTAssertEqual(keygen.wait(seconds: 30), 0, keygen.log)
        }
        let ports = [ProcessHarness.freePort(), ProcessHarness.freePort()]
        var shards: [ProcessHarness.Running] = []
        defer { for shard in shards { shard.signal(SIGKILL) } }
        for (k, port) in ports.enumerated() {
            shards.append(try ProcessHarness.start("coordinator", [
                "shard", "--bind", "tcp://127.0.0.1:\(port)", "--curve-secret-key", "\(keys)/shard.key",
                "--authorized-keys", "\(keys)/coordinator.pub",
            ], logName: "shard\(k + 1)", in: dir))
        }
        let port = ProcessHarness.freePort()
        let worker = try ProcessHarness.start("worker", [
            "--coordinator", "tcp://127.0.0.1:\(port)", "--curve-secret-key", "\(keys)/worker.key",
            "--coordinator-public-key", "\(keys)/coordinator.pub",
        ], logName: "worker", in: dir)
        defer { worker.signal(SIGKILL) }
        let output = dir.appendingPathComponent("run")
        let links = ports.flatMap { ["--shard", "tcp://127.0.0.1:\($0)"] }
        var arguments = flags()
        arguments[arguments.firstIndex(of: "--bind")! + 1] = "tcp://127.0.0.1:\(port)"
        let coordinator = try ProcessHarness.start("coordinator", arguments + links + [
            "--workers", "1", "--output", output.path, "--curve-secret-key", "\(keys)/coordinator.key",
            "--authorized-keys", "\(keys)/worker.pub", "--shard-public-key", "\(keys)/shard.pub",
        ], logName: "coordinator", in: dir)
        XCTAssertEqual(coordinator.wait(seconds: 240), 0, coordinator.log)
        for shard in shards { XCTAssertTrue(shard.log.contains("admitted CURVE client"), shard.log) }
        let end = try XCTUnwrap(try ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))
            .last { $0["event"] as? String == "end" })
        let alone = try run(workers: 1, shards: 0, name: "shards-curve-alone")
        XCTAssertEqual(end["final_hash"] as? String, alone.end["final_hash"] as? String)

        let plain = try ProcessHarness.start("coordinator", flags() + links + [
            "--spawn-workers", "1", "--shard-timeout", "3", "--output", dir.appendingPathComponent("plain").path,
        ], logName: "plain", in: dir)
        XCTAssertEqual(plain.wait(seconds: 60), 1, plain.log)
        XCTAssertTrue(plain.log.contains("shard 1 at tcp://127.0.0.1:\(ports[0]) could not be reached"), plain.log)
    }
}
