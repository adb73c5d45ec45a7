import Foundation

/// Writes a file atomically: a temporary file beside it, fsync, rename.
public enum AtomicFile {
    public static func write(_ data: some DataProtocol, to path: String) throws {
        try write(to: path) { try $0.write(contentsOf: data) }
    }

    /// The file `body` writes through the handle it is given (at the start of an empty file), put in place once
    /// `body` returns; if `body` throws, no file is left behind and the error is passed on.
    public static func write(to path: String, _ body: (FileHandle) throws -> Void) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw TrainerError("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        do {
            try body(handle)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            unlink(temporary)
            throw TrainerError("cannot write \(path): \(error)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TrainerError("cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}
