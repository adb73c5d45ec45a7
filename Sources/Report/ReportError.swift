/// Why a report could not be made: one sentence naming the file (and line) at fault.
public struct ReportError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }

    static func missing(_ path: String) -> ReportError {
        ReportError("\(path): no such file (a run writes metrics.jsonl into its output directory)")
    }

    static func garbled(_ path: String, line: Int, _ reason: String) -> ReportError {
        ReportError("\(path):\(line): \(reason)")
    }
}
