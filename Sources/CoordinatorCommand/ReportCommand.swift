import ArgumentParser
import Foundation
import Report

/// `coordinator report`: the page of finished (or running) runs, from their metrics.jsonl.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Writes the HTML report of runs from their metrics.jsonl; several runs are overlaid.",
        discussion: """
            A run writes RUN_DIR/report.html itself after every epoch and at its end; this makes the same page \
            again, or one page that overlays several runs (curves with a legend, settings side by side). The page \
            needs no network and no script.
            """)

    @Argument(help: "Run directories (or their metrics.jsonl files).") var runs: [String]
    @Option(help: "The page to write (default: RUN_DIR/report.html for one run; required for several).")
    var output: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
        if runs.count > 1 && output == nil {
            throw ValidationError("several runs make one page: say where with --output FILE")
        }
    }

    /// The metrics file of a run argument.
    static func metricsPath(_ run: String) -> String {
        run.hasSuffix(".jsonl") ? run : (run as NSString).appendingPathComponent("metrics.jsonl")
    }

    /// Legend names: each run's directory name, or its last two path components where names repeat.
    static func names(_ runs: [String]) -> [String] {
        let dirs = runs.map { run -> URL in
            let url = URL(fileURLWithPath: run).standardizedFileURL
            return run.hasSuffix(".jsonl") ? url.deletingLastPathComponent() : url
        }
        let short = dirs.map(\.lastPathComponent)
        return zip(dirs, short).map { dir, name in
            short.filter { $0 == name }.count > 1 ? dir.deletingLastPathComponent().lastPathComponent + "/" + name : name
        }
    }

    func run() throws {
        let names = Self.names(runs)
        let metrics = try zip(runs, names).map { try RunMetrics(path: Self.metricsPath($0), name: $1) }
        let path = output ?? (Self.metricsPath(runs[0]) as NSString).deletingLastPathComponent + "/report.html"
        try ReportPage(runs: metrics).write(to: path)
        print("wrote \(path)")
    }
}
