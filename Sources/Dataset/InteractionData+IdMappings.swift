#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension InteractionData {
    /// Writes `users.tsv` and `items.tsv` into `directory` (created if missing): one line per dense id,
    /// `dense id <TAB> original id`, the original id being the dense id itself when ids were not remapped.
    public func writeIdMappings(to directory: String) throws {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw DatasetError.unwritable(directory, TextFile.systemReason(errno))
        }
        try Self.writeMapping(count: userCount, names: userNames, path: directory + "/users.tsv")
        try Self.writeMapping(count: itemCount, names: itemNames, path: directory + "/items.tsv")
    }

    private static func writeMapping(count: Int, names: [String]?, path: String) throws {
        var text = ""
        text.reserveCapacity(count * 12)
        for id in 0 ..< count {
            text += String(id)
            text += "\t"
            text += names?[id] ?? String(id)
            text += "\n"
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw DatasetError.unwritable(path, TextFile.systemReason(errno)) }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError.unwritable(path, TextFile.systemReason(errno))
            }
            bytes = bytes.dropFirst(n)
        }
    }
}
