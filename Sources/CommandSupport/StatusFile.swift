import Foundation

/// A small file rewritten about every second (atomically: a temporary file renamed over it) while the process
/// runs; `coordinator healthcheck` reads its age. Does nothing without a path.
public final class StatusFile {
    private let path: String?
    private var lastWrite = 0.0

    public init(path: String?) { self.path = path }

    /// Writes `phase`, the time and the process id now.
    public func write(_ phase: String) {
        guard let path else { return }
        lastWrite = Date().timeIntervalSince1970
        let text = "\(phase) pid \(getpid()) at \(Int(lastWrite))\n"
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)),
              rename(temporary, path) == 0 else {
            FileHandle.standardError.write(Data("cannot write the status file \(path): \(String(cString: strerror(errno)))\n".utf8))
            return
        }
    }

    /// Writes when a second has passed since the last write.
    public func writeIfDue(_ phase: String) {
        if Date().timeIntervalSince1970 - lastWrite >= 1 { write(phase) }
    }
}
