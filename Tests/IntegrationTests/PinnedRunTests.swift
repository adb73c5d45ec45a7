import Foundation
import TestSupport
import XCTest

/// The same seed gives the same parameters: a short one-worker run's final tables, hashed, against the hash this
/// code gave before the coordinator was split into its policy, step building, reporting and shell. A change here
/// means training itself changed (the order of a sum, a seed, a default), not only its structure.
///
/// The pinned value holds for the machine's BLAS build and CPU (x86-64 with AVX2 and FMA, `--blas auto`), as the
/// fault-tolerance tests' bit-identical comparisons do.
final class PinnedRunTests: XCTestCase {
    static let pinnedHash: UInt64 = 0x41a1_e2b3_ba28_423a

    /// FNV-1a over the bytes of the exported `.npy` tables, in a fixed order.
    static func tablesHash(_ output: URL) throws -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for name in ["user_embeddings.npy", "item_embeddings.npy", "bank.npy"] {
            for byte in try Data(contentsOf: output.appendingPathComponent(name)) {
                h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
        }
        return h
    }

    func testOneWorkerShortRunGivesThePinnedTables() throws {
        let dir = try ProcessHarness.temporaryDirectory("pinned-run")
        let port = ProcessHarness.freePort()
        let output = dir.appendingPathComponent("run")
        let worker = try ProcessHarness.start("worker", ["--coordinator", "tcp://127.0.0.1:\(port)", "--name", "w0"],
                                              logName: "worker", in: dir)
        let coordinator = try ProcessHarness.start("coordinator", [
            "--bind", "tcp://127.0.0.1:\(port)", "--workers", "1", "--epochs", "2", "--synthetic-users", "300",
            "--synthetic-items", "200", "--batch-size", "512", "--minibatch-size", "256", "--negatives", "128",
            "--dim", "16", "--seed", "7", "--output", output.path,
        ], logName: "coordinator", in: dir)
        XCTAssertEqual(coordinator.wait(seconds: 120), 0, coordinator.log)
        XCTAssertEqual(worker.wait(seconds: 10), 0, worker.log)
        let hash = try Self.tablesHash(output)
        XCTAssertEqual(hash, Self.pinnedHash, "tables hash \(String(hash, radix: 16))\n\(coordinator.log)")
    }
}
