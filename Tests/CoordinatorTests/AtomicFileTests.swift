import Coordinator
import Foundation
import XCTest

final class AtomicFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "atomic-file-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testWriteReplacesTheFileAndLeavesNoTemporary() throws {
        let path = directory + "/f"
        try AtomicFile.write(Data([1, 2, 3]), to: path)
        try AtomicFile.write(Data([4]), to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([4]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["f"])
    }

    func testAFileThatCannotBeCreatedIsNamedInTheError() {
        let missing = directory + "/no/such/dir/f"
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: missing)) {
            guard let error = $0 as? TrainerError else { return XCTFail("\($0)") }
            XCTAssertTrue(error.description.contains(missing), error.description)
        }
    }

    /// The rename fails when a directory is in the way: the error says so and the temporary file is removed.
    func testAFailedRenameRemovesTheTemporary() throws {
        let blocked = directory + "/d"
        try FileManager.default.createDirectory(atPath: blocked + "/inside", withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: blocked)) {
            guard let error = $0 as? TrainerError else { return XCTFail("\($0)") }
            XCTAssertTrue(error.description.contains("cannot rename"), error.description)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["d"])
    }
}
