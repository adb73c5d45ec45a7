import ArgumentParser
import CommandSupport
import Foundation

/// `coordinator healthcheck`: exits 0 while a status file is fresh; for container health checks.
struct HealthcheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Exits 0 when --status-file (written every second by a running coordinator or worker) is fresh, 1 otherwise.")

    @Option(help: "The status file of the process to check (also MBT_STATUS_FILE).")
    var statusFile: String?
    @Option(help: "Largest age, in seconds, of a healthy status file.")
    var maxAge = 30.0

    func run() throws {
        guard let path = statusFile ?? Environment.value("MBT_STATUS_FILE") else {
            throw ValidationError("--status-file FILE is required (or set MBT_STATUS_FILE)")
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let modified = attributes[.modificationDate] as? Date else {
            print("unhealthy: no status file at \(path)")
            throw ExitCode(1)
        }
        let age = Date().timeIntervalSince(modified)
        let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard age <= maxAge else {
            print("unhealthy: \(path) was last written \(Int(age)) s ago (\(text))")
            throw ExitCode(1)
        }
        print("healthy: \(text), \(String(format: "%.1f", age)) s ago")
    }
}
