import Foundation

/// A Markdown file of the repository's `docs/`, read by tests that keep a document and the code in step.
public struct DocumentFile {
    public let path: String
    public let lines: [String]

    /// Loads `<package root>/docs/<name>`; the package root is found from the caller's `#filePath`.
    public init(_ name: String, filePath: String = #filePath) throws {
        let url = GoldenFile.packageRoot(from: filePath).appendingPathComponent("docs/\(name)")
        path = url.path
        lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
    }

    /// The lines of the first fenced code block after the heading `heading` (the whole heading line, e.g.
    /// `### Worked example: negatives`).
    public func codeBlock(after heading: String) throws -> [String] {
        guard let start = lines.firstIndex(of: heading) else { throw DocumentError("\(path) has no heading \"\(heading)\"") }
        guard let open = lines[start...].firstIndex(where: { $0.hasPrefix("```") }),
              let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") }) else {
            throw DocumentError("\(path): no code block after \"\(heading)\"")
        }
        return Array(lines[(open + 1) ..< close])
    }

    /// The body rows of the first table whose header row is `header` (e.g. `| tag | name | direction |`), each as
    /// its trimmed cells.
    public func table(header: String) throws -> [[String]] {
        guard let start = lines.firstIndex(of: header) else { throw DocumentError("\(path) has no table \"\(header)\"") }
        var rows: [[String]] = []
        for line in lines[(start + 2)...] {   // past the header and the |---| row
            guard line.hasPrefix("|") else { break }
            rows.append(line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return rows
    }
}

/// `label: values` lines of a code block, by label.
public func labelledLines(_ lines: [String]) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for line in lines {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let label = line[..<colon].trimmingCharacters(in: .whitespaces)
        out[label] = line[line.index(after: colon)...].split(separator: " ").map(String.init)
    }
    return out
}

public struct DocumentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
