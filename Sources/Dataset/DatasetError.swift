/// A problem with a user's input file: one sentence naming the file (and line) and what is wrong.
///
/// `description` reads `path:line: what is wrong` for a malformed line, `path: what is wrong` for a problem with
/// the whole file, and `cannot read path: reason` when the file cannot be read.
public struct DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the problem is in.
    public var path: String
    /// The 1-based line of a malformed line; nil for a problem with the whole file.
    public var line: Int?
    /// What is wrong, without the location.
    public var reason: String
    public let description: String

    private init(path: String, line: Int?, reason: String, description: String) {
        self.path = path
        self.line = line
        self.reason = reason
        self.description = description
    }

    /// A malformed line: `path:line: reason`.
    public static func malformed(_ path: String, line: Int, _ reason: String) -> DatasetError {
        DatasetError(path: path, line: line, reason: reason, description: "\(path):\(line): \(reason)")
    }

    /// A problem with the file as a whole: `path: reason`.
    public static func invalid(_ path: String, _ reason: String) -> DatasetError {
        DatasetError(path: path, line: nil, reason: reason, description: "\(path): \(reason)")
    }

    /// The file could not be opened or read: `cannot read path: reason`.
    public static func unreadable(_ path: String, _ reason: String) -> DatasetError {
        DatasetError(path: path, line: nil, reason: reason, description: "cannot read \(path): \(reason)")
    }

    /// A file could not be written: `cannot write path: reason`.
    public static func unwritable(_ path: String, _ reason: String) -> DatasetError {
        DatasetError(path: path, line: nil, reason: reason, description: "cannot write \(path): \(reason)")
    }
}
