import Foundation
import Kernels

/// Writes NumPy `.npy` files (format 1.0, little-endian float32, C order), loadable with `numpy.load`.
public enum NpyFile {
    public static func write(_ table: EmbeddingTable, to path: String) throws {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(table.rows), \(table.dim)), }"
        // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        table.withUnsafeValues { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        try AtomicFile.write(data, to: path)
    }
}

/// Writes a file atomically: a temporary file beside it, fsync, rename.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw TrainerError("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temporary)
            throw TrainerError("cannot write \(path): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TrainerError("cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}

/// A user-facing error: one sentence that says what is wrong and where.
public struct TrainerError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
