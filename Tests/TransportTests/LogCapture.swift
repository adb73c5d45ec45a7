import Foundation
import Logging

/// Collects the messages logged through its `logger`, for tests that check what a person would read.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var logger: Logger {
        Logger(label: "capture") { _ in Handler(capture: self) }
    }

    var text: String { lock.withLock { lines.joined(separator: "\n") } }

    func contains(_ fragment: String) -> Bool { lock.withLock { lines.contains { $0.contains(fragment) } } }

    fileprivate func append(_ line: String) { lock.withLock { lines.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.append("\(event.level): \(event.message)")
        }
    }
}
