import Coordinator
import Foundation
import Kernels
import XCTest

final class CheckpointStoreTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.path + "/checkpoint-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func names(_ store: CheckpointStore) -> [String] {
        store.paths().map { URL(fileURLWithPath: $0).lastPathComponent }
    }

    func testKeepsTheNewest() throws {
        let store = CheckpointStore(directory: directory, keep: 2)
        XCTAssertEqual(store.paths(), [])
        for step: UInt64 in [1, 2, 9, 10] {
            let path = try store.save(CheckpointTests.trainedCheckpoint(step: step).0)
            XCTAssertEqual(path, directory + "/checkpoint-" + String(repeating: "0", count: step < 10 ? 9 : 8) + "\(step).mbt")
        }
        XCTAssertEqual(names(store), ["checkpoint-0000000010.mbt", "checkpoint-0000000009.mbt"])
        // Only checkpoints are listed or removed; nothing temporary is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       ["checkpoint-0000000009.mbt", "checkpoint-0000000010.mbt"])
        let newest = try XCTUnwrap(store.newestValid())
        XCTAssertEqual(newest.0.cursor.step, 10)
        XCTAssertEqual(newest.path, directory + "/checkpoint-0000000010.mbt")
        XCTAssertEqual(newest.skipped, [])
    }

    func testOtherFilesAreLeftAlone() throws {
        try Data("notes".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))
        let store = CheckpointStore(directory: directory, keep: 1)
        for step: UInt64 in [1, 2] { _ = try store.save(CheckpointTests.trainedCheckpoint(step: step).0) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       ["checkpoint-0000000002.mbt", "notes.txt"])
    }

    /// A corrupt newest file is passed over, with its reason, for the previous one.
    func testNewestValidSkipsACorruptNewestFile() throws {
        let store = CheckpointStore(directory: directory, keep: 3)
        for step: UInt64 in [4, 5] { _ = try store.save(CheckpointTests.trainedCheckpoint(step: step).0) }
        let newestPath = directory + "/checkpoint-0000000005.mbt"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newestPath))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: newestPath))

        let found = try XCTUnwrap(store.newestValid())
        XCTAssertEqual(found.0.cursor.step, 4)
        XCTAssertEqual(found.path, directory + "/checkpoint-0000000004.mbt")
        XCTAssertEqual(found.skipped.count, 1)
        XCTAssertTrue(found.skipped[0].contains(newestPath), found.skipped[0])
        XCTAssertTrue(found.skipped[0].contains("checksum"), found.skipped[0])
    }

    func testNoValidCheckpoint() throws {
        let store = CheckpointStore(directory: directory, keep: 2)
        XCTAssertNil(store.newestValid())
        try Data("MBTCKPT1".utf8).write(to: URL(fileURLWithPath: directory + "/checkpoint-0000000001.mbt"))
        XCTAssertNil(store.newestValid())
    }

    /// A background save holds the state of the moment it was called, even if training moves on before the file is
    /// written; after `waitForPendingWrites` every file is complete and the completions have run, in order.
    func testBackgroundSavesHoldTheStateWhenTheyWereTaken() throws {
        let store = CheckpointStore(directory: directory, keep: 2)
        let (checkpoint, state) = CheckpointTests.trainedCheckpoint(step: 6)
        let taken = state.contentHash()
        let results = Locked<[String]>([])
        let record: @Sendable (Result<String, any Error>) -> Void = { result in
            results.withLock { $0.append((try? result.get()) ?? "failed") }
        }
        store.saveInBackground(checkpoint, completion: record)
        // Training goes on: the tables change under the checkpoint that was taken.
        _ = state.apply([MinibatchContribution(examples: 1, lossSum: 0, users: SparseRows(dim: 2, ids: [1], values: [3, -3]),
                                               items: SparseRows(dim: 2, ids: [2], values: [1, 1]), positives: [2])])
        XCTAssertNotEqual(state.contentHash(), taken)
        store.saveInBackground(CheckpointTests.trainedCheckpoint(step: 7).0, completion: record)
        store.waitForPendingWrites()

        XCTAssertEqual(results.withLock { $0 }, [directory + "/checkpoint-0000000006.mbt", directory + "/checkpoint-0000000007.mbt"])
        let six = try Checkpoint.decode(Data(contentsOf: URL(fileURLWithPath: directory + "/checkpoint-0000000006.mbt")),
                                        path: "six")
        XCTAssertEqual(try six.restore(optimizer: CheckpointTests.optimizer).contentHash(), taken)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       ["checkpoint-0000000006.mbt", "checkpoint-0000000007.mbt"])
    }

    /// At most one write is pending: a save while the previous one is still being written returns only after that
    /// one is complete (a completion that takes its time stands for a slow disk).
    func testASaveWaitsForTheWriteBeforeIt() {
        let store = CheckpointStore(directory: directory, keep: 3)
        let done = Locked<[UInt64]>([])
        store.saveInBackground(CheckpointTests.trainedCheckpoint(step: 1).0) { _ in
            Thread.sleep(forTimeInterval: 0.3)
            done.withLock { $0.append(1) }
        }
        store.saveInBackground(CheckpointTests.trainedCheckpoint(step: 2).0) { _ in done.withLock { $0.append(2) } }
        XCTAssertEqual(done.withLock { $0 }.first, 1, "the second save returned before the first write was complete")
        store.waitForPendingWrites()
        XCTAssertEqual(done.withLock { $0 }, [1, 2])
    }

    /// A write that fails reaches the completion as an error that names the file; nothing is left behind.
    func testABackgroundSaveThatFailsReportsTheError() throws {
        let store = CheckpointStore(directory: directory + "/missing", keep: 2)
        let outcome = Locked<String?>(nil)
        store.saveInBackground(CheckpointTests.trainedCheckpoint(step: 8).0) { result in
            outcome.withLock { value in
                if case let .failure(error) = result { value = "\(error)" } else { value = "written" }
            }
        }
        store.waitForPendingWrites()
        let message = try XCTUnwrap(outcome.withLock { $0 })
        XCTAssertTrue(message.contains("missing/checkpoint-0000000008.mbt"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/missing"))
    }
}

/// A value shared with a completion that runs on another thread.
private final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
