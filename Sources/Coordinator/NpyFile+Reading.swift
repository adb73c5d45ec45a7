import Foundation

extension NpyFile {
    /// A matrix read from an `.npy` file: its shape and its raw little-endian 4-byte elements.
    public struct Matrix: Sendable {
        public let rows: Int
        public let cols: Int
        public let descr: String
        let body: Data

        public var floats: [Float] {
            body.withUnsafeBytes { raw in (0 ..< rows * cols).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) } }
        }

        public var uint32s: [UInt32] {
            body.withUnsafeBytes { raw in (0 ..< rows * cols).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian } }
        }
    }

    /// Reads a 2-D C-order `.npy` matrix of `<f4` or `<u4` (as this trainer writes them). Every length and field of
    /// the header is checked against the file; a problem is a `TrainerError` naming the file.
    public static func read(_ path: String, descr expected: String) throws -> Matrix {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainerError("\(path): no such file or not readable")
        }
        func bad(_ why: String) -> TrainerError { TrainerError("\(path): not a .npy matrix this trainer reads: \(why)") }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1 ..< 6]) == Array("NUMPY".utf8) else { throw bad("no NUMPY magic") }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default:
            throw bad("format version \(major)")
        }
        guard headerLength <= 1 << 20, data.count >= headerStart + headerLength else { throw bad("truncated header") }
        guard let header = String(data: data[headerStart ..< headerStart + headerLength], encoding: .utf8) else {
            throw bad("header is not text")
        }
        guard header.contains("'descr': '\(expected)'") else {
            throw bad("element type is not \(expected) (header \(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        guard header.contains("'fortran_order': False") else { throw bad("Fortran order") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw bad("no shape")
        }
        let dims = header[open.upperBound ..< close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard dims.count == 2, let rows = Int(dims[0]), let cols = Int(dims[1]), rows >= 0, cols >= 0 else {
            throw bad("shape (\(header[open.upperBound ..< close])) is not 2-D")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: cols)
        guard !overflow, count <= Int.max / 4 else { throw bad("shape too large") }
        let bodyStart = headerStart + headerLength
        guard data.count - bodyStart == 4 * count else {
            throw bad("\(data.count - bodyStart) bytes of data for shape (\(rows), \(cols)) of 4-byte elements")
        }
        return Matrix(rows: rows, cols: cols, descr: expected, body: data.subdata(in: bodyStart ..< data.count))
    }
}
