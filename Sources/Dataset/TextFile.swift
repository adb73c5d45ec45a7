#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one input file, read whole, and its path for error messages.
///
/// Parsing works on the bytes directly (no `String` per line), so that a million ids parse in well under a second.
struct TextFile {
    let path: String
    let bytes: [UInt8]

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// Reads the whole file; a missing, unreadable or directory path is a `DatasetError.unreadable`.
    static func contents(of path: String) throws -> TextFile {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DatasetError.unreadable(path, systemReason(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DatasetError.unreadable(path, systemReason(errno)) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw DatasetError.unreadable(path, "it is a directory") }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError.unreadable(path, systemReason(errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0 ..< n])
        }
        return TextFile(path: path, bytes: bytes)
    }

    static func systemReason(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }

    func malformed(line: Int, _ reason: String) -> DatasetError {
        DatasetError.malformed(path, line: line, reason)
    }

    /// Calls `body` with each line's 1-based number and bytes (without `\n` or a trailing `\r`; a UTF-8 byte-order
    /// mark at the start is dropped). A final line without `\n` counts.
    func forEachLine(_ body: (_ number: Int, _ line: UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            let n = all.count
            var start = n >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF ? 3 : 0
            var number = 1
            while start < n {
                let end: Int
                if let hit = memchr(base + start, 10, n - start) {
                    end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = n
                }
                var stop = end
                if stop > start && base[stop - 1] == 13 { stop -= 1 }
                try body(number, UnsafeBufferPointer(start: base + start, count: stop - start))
                number += 1
                start = end + 1
            }
        }
    }
}

/// Byte-level helpers for the readers.
enum Bytes {
    static let space: UInt8 = 32, tab: UInt8 = 9, comma: UInt8 = 44, colon: UInt8 = 58, quote: UInt8 = 34

    @inline(__always) static func isBlank(_ b: UInt8) -> Bool { b == space || b == tab }

    static func isBlankLine(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in line where !isBlank(b) { return false }
        return true
    }

    /// The text of a token for an error message, shortened if long.
    static func quoted(_ token: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: token.prefix(40), as: UTF8.self)
        return "'" + text + (token.count > 40 ? "…" : "") + "'"
    }

    static func string(_ token: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: token, as: UTF8.self)
    }

    /// The token without surrounding blanks.
    static func trimmed(_ token: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lo = 0, hi = token.count
        while lo < hi && isBlank(token[lo]) { lo += 1 }
        while hi > lo && isBlank(token[hi - 1]) { hi -= 1 }
        return UnsafeBufferPointer(rebasing: token[lo ..< hi])
    }

    enum Unsigned { case value(UInt64), empty, negative, notInteger, tooLarge }

    /// Parses decimal digits into a value at most `limit`.
    @inline(__always)
    static func unsigned(_ token: UnsafeBufferPointer<UInt8>, limit: UInt64) -> Unsigned {
        if token.isEmpty { return .empty }
        var i = 0
        if token[0] == 43 { i = 1 }  // '+'
        if token[0] == 45 {           // '-'
            if token.count > 1 && token.dropFirst().allSatisfy({ $0 >= 48 && $0 <= 57 }) { return .negative }
            return .notInteger
        }
        if i == token.count { return .notInteger }
        var v: UInt64 = 0
        var tooLarge = false
        while i < token.count {
            let d = token[i] &- 48
            if d > 9 { return .notInteger }
            if !tooLarge {
                v = v &* 10 &+ UInt64(d)
                if v > limit { tooLarge = true }
            }
            i += 1
        }
        return tooLarge ? .tooLarge : .value(v)
    }

    /// Parses a dense id (`0 ... UInt32.max - 1`) or throws `file:line: <what> 'x' is ...`.
    @inline(__always)
    static func id(_ token: UnsafeBufferPointer<UInt8>, what: String, file: TextFile, line: Int) throws -> UInt32 {
        switch unsigned(token, limit: UInt64(UInt32.max - 1)) {
        case .value(let v): return UInt32(v)
        case .empty: throw file.malformed(line: line, "empty \(what)")
        case .negative: throw file.malformed(line: line, "\(what) \(quoted(token)) is negative")
        case .notInteger: throw file.malformed(line: line, "\(what) \(quoted(token)) is not a non-negative integer")
        case .tooLarge: throw file.malformed(line: line, "\(what) \(quoted(token)) is too large (at most \(UInt32.max - 1))")
        }
    }

    /// A finite decimal number (integer or floating point), or nil.
    static func number(_ token: UnsafeBufferPointer<UInt8>) -> Double? {
        if case .value(let v) = unsigned(token, limit: 1 << 53) { return Double(v) }
        guard !token.isEmpty, token.count < 64,
              token.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 43 || $0 == 101 || $0 == 69 }),
              let v = Double(string(token)), v.isFinite
        else { return nil }
        return v
    }

    /// Splits `line` at every `separator` (one or more bytes); fields are not trimmed.
    static func split(_ line: UnsafeBufferPointer<UInt8>, separator: [UInt8]) -> [UnsafeBufferPointer<UInt8>] {
        var fields = [UnsafeBufferPointer<UInt8>]()
        var start = 0, i = 0
        let n = line.count, s = separator.count
        while i + s <= n {
            var match = true
            for j in 0 ..< s where line[i + j] != separator[j] { match = false; break }
            if match {
                fields.append(UnsafeBufferPointer(rebasing: line[start ..< i]))
                i += s
                start = i
            } else {
                i += 1
            }
        }
        fields.append(UnsafeBufferPointer(rebasing: line[start ..< n]))
        return fields
    }

    /// Calls `body` with each run of non-blank bytes (separated by spaces or tabs).
    @inline(__always)
    static func forEachToken(_ line: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        let n = line.count
        var i = 0
        while i < n {
            while i < n && isBlank(line[i]) { i += 1 }
            if i == n { break }
            let start = i
            while i < n && !isBlank(line[i]) { i += 1 }
            try body(UnsafeBufferPointer(rebasing: line[start ..< i]))
        }
    }
}
