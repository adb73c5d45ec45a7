import Coordinator
import Foundation
import Kernels
import XCTest

final class NpyFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.path + "/npy-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Tables whose shapes give headers of different lengths, with awkward values.
    private func tables() -> [EmbeddingTable] {
        var random = SeededRandom(seed: 3)
        let special: [Float] = [0, -0, 1, -1, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity,
                                0.1, 1e-30]
        return [
            EmbeddingTable(rows: 2, dim: 5, values: special),
            EmbeddingTable(rows: 0, dim: 4),
            EmbeddingTable(rows: 1, dim: 1, values: [42]),
            EmbeddingTable(rows: 1234, dim: 64, normalStd: 1, random: &random),
            EmbeddingTable(rows: 100_000, dim: 3, normalStd: 1, random: &random),
        ]
    }

    /// Format 1.0: magic, version, little-endian header length, a header padded with spaces to make the whole
    /// preamble a multiple of 64 bytes and ending in a newline, the dict with descr/fortran_order/shape, then the
    /// raw little-endian float32 values.
    func testHeaderIsValidNpy10() throws {
        for (n, table) in tables().enumerated() {
            let path = directory + "/t\(n).npy"
            try NpyFile.write(table, to: path)
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(Array(data[0 ..< 6]), [0x93] + Array("NUMPY".utf8))
            XCTAssertEqual(Array(data[6 ..< 8]), [1, 0], "version 1.0")
            let headerLength = Int(data[8]) | Int(data[9]) << 8
            XCTAssertEqual((10 + headerLength) % 64, 0, "\(table.rows)×\(table.dim): preamble of \(10 + headerLength) bytes")
            let header = try XCTUnwrap(String(bytes: data[10 ..< 10 + headerLength], encoding: .ascii))
            XCTAssertTrue(header.hasSuffix("\n"), header)
            let dict = header.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(dict.hasPrefix("{") && dict.hasSuffix("}"), dict)
            XCTAssertTrue(dict.contains("'descr': '<f4'"), dict)
            XCTAssertTrue(dict.contains("'fortran_order': False"), dict)
            XCTAssertTrue(dict.contains("'shape': (\(table.rows), \(table.dim))"), dict)
            let body = Array(data[(10 + headerLength)...])
            XCTAssertEqual(body.count, table.rows * table.dim * 4)
            let values = stride(from: 0, to: body.count, by: 4).map {
                Float(bitPattern: UInt32(body[$0]) | UInt32(body[$0 + 1]) << 8 | UInt32(body[$0 + 2]) << 16 | UInt32(body[$0 + 3]) << 24)
            }
            XCTAssertEqual(values.map(\.bitPattern), table.values.map(\.bitPattern))
        }
    }

    /// numpy itself reads every file back with the right shape, dtype and bits. numpy is part of this machine's
    /// toolchain (and CI's): its absence is a failure, not a skip.
    func testNumpyLoadsTheFiles() throws {
        let check = try python(["-c", "import numpy"])
        guard check.status == 0 else {
            return XCTFail("python3 cannot import numpy (exit \(check.status)): \(check.output). Install numpy; this test needs it.")
        }
        let script = """
            import sys, numpy
            a = numpy.load(sys.argv[1], allow_pickle=False)
            print(a.dtype.str, a.shape[0], a.shape[1], 'C' if a.flags['C_CONTIGUOUS'] else 'F')
            print(a.astype('<f4').tobytes().hex())
            """
        for (n, table) in tables().enumerated() where table.rows * table.dim < 200_000 {
            let path = directory + "/t\(n).npy"
            try NpyFile.write(table, to: path)
            let run = try python(["-c", script, path])
            XCTAssertEqual(run.status, 0, run.output)
            let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.first.map(String.init), "<f4 \(table.rows) \(table.dim) C")
            let expectedHex = table.values.map { v in
                withUnsafeBytes(of: v.bitPattern.littleEndian) { $0.map { String(format: "%02x", $0) }.joined() }
            }.joined()
            XCTAssertEqual(lines.count > 1 ? String(lines[1]) : "", expectedHex, "\(table.rows)×\(table.dim)")
        }
    }

    /// Runs python3 with the arguments; stdout and stderr together.
    private func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func testWriteReplacesAnExistingFileAndReportsBadPaths() throws {
        let path = directory + "/e.npy"
        try NpyFile.write(EmbeddingTable(rows: 3, dim: 2), to: path)
        try NpyFile.write(EmbeddingTable(rows: 1, dim: 2, values: [1, 2]), to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).count, 128 + 8)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["e.npy"], "no temporary left")
        let missing = directory + "/no/such/dir/x.npy"
        XCTAssertThrowsError(try NpyFile.write(EmbeddingTable(rows: 1, dim: 1), to: missing)) {
            guard let error = $0 as? TrainerError else { return XCTFail("\($0)") }
            XCTAssertTrue(error.description.contains(missing), error.description)
        }
    }

    /// A file written slice by slice (`writeFloats`) has the bytes of the same table written at once; a writer that
    /// appends a different number of values than the shape holds leaves no file.
    func testStreamedFloatsEqualTheTableWrittenAtOnce() throws {
        for (k, table) in tables().enumerated() {
            let whole = directory + "/whole-\(k).npy", streamed = directory + "/streamed-\(k).npy"
            try NpyFile.write(table, to: whole)
            let values = table.values
            try NpyFile.writeFloats(shape: [table.rows, table.dim], to: streamed) { append in
                var start = 0
                while start < values.count {   // uneven slices
                    let end = min(values.count, start + 7 + start % 5)
                    try values[start ..< end].withUnsafeBufferPointer { try append($0) }
                    start = end
                }
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: streamed)),
                           try Data(contentsOf: URL(fileURLWithPath: whole)), "table \(k)")
        }
        let short = directory + "/short.npy"
        XCTAssertThrowsError(try NpyFile.writeFloats(shape: [2, 3], to: short) { append in
            try [Float](repeating: 1, count: 5).withUnsafeBufferPointer { try append($0) }
        })
        XCTAssertFalse(FileManager.default.fileExists(atPath: short))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }, [])
    }
}
