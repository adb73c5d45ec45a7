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
}
