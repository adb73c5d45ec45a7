import Foundation
import Kernels

/// Writes NumPy `.npy` files (format 1.0, little-endian float32, C order), loadable with `numpy.load`.
public enum NpyFile {
    public static func write(_ table: EmbeddingTable, to path: String) throws {
        try write(table.values, shape: [table.rows, table.dim], to: path)
    }

    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try write(descr: "<f4", shape: shape, count: values.count, to: path) { data in
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
    }

    public static func write(_ values: [UInt32], shape: [Int], to path: String) throws {
        try write(descr: "<u4", shape: shape, count: values.count, to: path) { data in
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
    }

    /// A float32 .npy of `shape` whose values `body` appends in order (each call of `append` writes its values to
    /// the file): the whole array is never in memory. Written atomically, as `AtomicFile` writes.
    public static func writeFloats(shape: [Int], to path: String,
                                   body: (_ append: (UnsafeBufferPointer<Float>) throws -> Void) throws -> Void) throws {
        try AtomicFile.write(to: path) { handle in
            try handle.write(contentsOf: header(descr: "<f4", shape: shape))
            var written = 0
            try body { values in
                written += values.count
                try handle.write(contentsOf: UnsafeRawBufferPointer(values))
            }
            guard written == shape.reduce(1, *) else {
                throw TrainerError("\(written) values for an array of shape \(shape)")
            }
        }
    }

    /// The magic, version, header length and header of an array of `shape`.
    private static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        return data
    }

    private static func write(descr: String, shape: [Int], count: Int, to path: String,
                              body: (inout Data) -> Void) throws {
        precondition(shape.reduce(1, *) == count, "npy shape \(shape) for \(count) values")
        var data = header(descr: descr, shape: shape)
        body(&data)
        try AtomicFile.write(data, to: path)
    }
}
