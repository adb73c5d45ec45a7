import Foundation

/// Writes a file atomically: a temporary file beside it, fsync, rename.
public enum AtomicFile {
    public static func write(_ data: some DataProtocol, to path: String) throws {
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
