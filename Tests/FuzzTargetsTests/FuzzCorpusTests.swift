import Foundation
import FuzzTargets
import XCTest

/// Every committed corpus file of every fuzz target goes through the target's entry point, so that an input that
/// once crashed a decoder stays a test. The seeds in the corpus are the ones `FuzzSeeds` builds from real
/// messages (FUZZ_WRITE_SEEDS=1 rewrites them after a format change).
final class FuzzCorpusTests: XCTestCase {
    static let corpusRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    private func corpusFiles(_ target: FuzzTarget) throws -> [URL] {
        let directory = Self.corpusRoot.appendingPathComponent(target.rawValue)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testEveryCorpusFileRunsWithoutFailure() throws {
        for target in FuzzTarget.allCases {
            let files = try corpusFiles(target)
            XCTAssertGreaterThanOrEqual(files.count, 4, "\(target.rawValue): corpus too small")
            for file in files {
                let bytes = try [UInt8](Data(contentsOf: file))
                XCTAssertLessThanOrEqual(bytes.count, target.maximumLength, "\(file.path) exceeds -max_len")
                do {
                    try target.run(bytes)
                } catch {
                    XCTFail("\(target.rawValue) \(file.lastPathComponent): \(error)")
                }
            }
        }
    }

    func testSeedsAreCommittedInTheCorpus() throws {
        let write = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"] == "1"
        for target in FuzzTarget.allCases {
            let directory = Self.corpusRoot.appendingPathComponent(target.rawValue)
            for (name, bytes) in FuzzSeeds.seeds(target) {
                let file = directory.appendingPathComponent("seed-\(name)")
                XCTAssertLessThanOrEqual(bytes.count, target.maximumLength, "\(target.rawValue) seed \(name) too long")
                if write {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                    try Data(bytes).write(to: file)
                }
                let committed = try? [UInt8](Data(contentsOf: file))
                XCTAssertEqual(committed, bytes, "\(file.path) differs from the seed; run with FUZZ_WRITE_SEEDS=1")
                XCTAssertNoThrow(try target.run(bytes), "\(target.rawValue) seed \(name)")
            }
        }
    }
}
