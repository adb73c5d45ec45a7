import Dataset
import Foundation
import TestSupport
import XCTest

/// A fresh directory under the system temporary directory, removed when released.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/dataset-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` in the directory and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path + "/" + name, encoding: .utf8)
    }
}

/// A shared real dataset, `../shared/datasets/<relative>` from the package root. `../shared/datasets` is always
/// beside the repository (in CI too), so a missing dataset fails the test instead of skipping it.
func sharedDataset(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let packageRoot = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let path = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets/" + relative).path
    guard FileManager.default.fileExists(atPath: path) else {
        XCTFail("dataset not found at \(path): ../shared/datasets must sit beside the repository", file: file, line: line)
        throw TestFailure("dataset not found at \(path)")
    }
    return path
}

/// Asserts that `body` throws a `DatasetError` whose description is exactly `expected`.
func XCTAssertDatasetError<T>(_ body: @autoclosure () throws -> T, _ expected: String,
                              file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected the error \"\(expected)\" but the load succeeded", file: file, line: line)
    } catch let error as DatasetError {
        XCTAssertEqual(error.description, expected, file: file, line: line)
    } catch {
        XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
    }
}
