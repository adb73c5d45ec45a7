import Dataset
import Foundation
import Logging
import Report

/// The run's reports: the JSON-lines metrics file, the human-readable epoch table, the live progress line, the log
/// lines of the run's events and the exported tables (`RunReporter+Events.swift`). It decides nothing.
final class RunReporter {
    let logger: Logger
    let outputDirectory: String
    private let handle: FileHandle?
    private let metricsPath: String
    private let reportPath: String
    /// When the reporter opened the file: every record carries `run_seconds` since then.
    private let openedAt = Date()
    /// Seconds spent writing report.html, and how often.
    private(set) var reportSeconds = (total: 0.0, count: 0)
    private var reportFailed = false
    private let ks: [Int]
    /// Whether the table has validation columns.
    private let validation: Bool
    private var printedHeader = false
    /// Set by `started` when the test figures come from a sample of the test users: its size and theirs.
    var evaluationSample: (users: Int, of: Int)?
    private let isTerminal: Bool
    private var lastProgress: Double = 0
    private var progressVisible = false
    /// Epochs already in the file (a resumed run may finish an epoch a second time): not recorded again.
    private var recordedEpochs: Set<Int> = []
    /// The epoch records already in the file when a resumed run opened it, in file order.
    private(set) var previousEpochs: [EpochResult] = []

    /// `append`: a resumed run adds to the metrics of the epochs before the restart.
    init(outputDirectory: String, ks: [Int], validation: Bool, append: Bool, logger: Logger) throws {
        let metricsPath = outputDirectory + "/metrics.jsonl"
        self.logger = logger
        self.outputDirectory = outputDirectory
        if !append || !FileManager.default.fileExists(atPath: metricsPath) {
            guard FileManager.default.createFile(atPath: metricsPath, contents: nil) else {
                throw TrainerError("cannot create \(metricsPath): \(String(cString: strerror(errno)))")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: metricsPath) else {
            throw TrainerError("cannot open \(metricsPath) for writing")
        }
        handle.seekToEndOfFile()
        if append, let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   object["event"] as? String == "epoch", let epoch = object["epoch"] as? Int,
                   recordedEpochs.insert(epoch).inserted {
                    previousEpochs.append(Self.epochResult(from: object, ks: ks))
                }
            }
        }
        self.handle = handle
        self.metricsPath = metricsPath
        reportPath = outputDirectory + "/report.html"
        self.ks = ks
        self.validation = validation
        isTerminal = isatty(STDERR_FILENO) == 1
    }

    /// Appends an event (with `run_seconds`, the time since the reporter opened the file) and, for the events the
    /// report shows as they happen (an epoch's figures, a lost worker, a stop, the end), writes report.html again.
    func record(_ object: [String: Any]) {
        var object = object
        object["run_seconds"] = Date().timeIntervalSince(openedAt)
        if object["event"] as? String == "end" {
            object["report_seconds"] = reportSeconds.total
            object["report_writes"] = reportSeconds.count
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        handle?.write(data + Data("\n".utf8))
        if let event = object["event"] as? String, Self.reportedEvents.contains(event) { writeReport() }
    }

    static let reportedEvents: Set<String> = ["start", "epoch", "member_lost", "early_stop", "time_limit", "stopped", "end"]

    /// Makes report.html from metrics.jsonl (about 15 ms in a debug build). A failure is said once and does not
    /// stop training.
    func writeReport() {
        let started = Date()
        do {
            try ReportPage(runs: [RunMetrics(path: metricsPath)]).write(to: reportPath)
        } catch {
            if !reportFailed {
                reportFailed = true
                clearProgress()
                logger.warning("could not write \(reportPath): \(error)")
            }
        }
        reportSeconds.total += Date().timeIntervalSince(started)
        reportSeconds.count += 1
    }

    /// A live line on a terminal (at most 5 per second); a plain line every 10 s otherwise.
    func progress(_ text: String, now: Double) {
        if isTerminal {
            guard now - lastProgress >= 0.2 else { return }
            lastProgress = now
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            progressVisible = true
        } else {
            guard now - lastProgress >= 10 else { return }
            lastProgress = now
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    func clearProgress() {
        if progressVisible {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
            progressVisible = false
        }
    }

    /// Prints an evaluated epoch's row and records it in `metrics.jsonl` (once per epoch); true when it was new to
    /// the file. This is where whatever follows an epoch's figures (a report page, exported metrics) hooks in.
    @discardableResult
    func epochRecorded(_ r: EpochResult) -> Bool {
        clearProgress()
        if !printedHeader {
            printedHeader = true
            var header = "epoch │     loss │  examples/s │ train s"
            for k in ks { header += " │ recall@\(k) │ ndcg@\(k)" }
            if validation, let k = ks.first { header += " │ val recall@\(k)" }
            header += " │ audit"
            FileHandle.standardOutput.write(Data((header + "\n").utf8))
        }
        var line = String(format: "%5d │ %8.4f │ %11.0f │ %7.1f", r.epoch + 1, r.recovered ? .nan : r.meanLoss,
                          r.examplesPerSecond, r.trainSeconds)
        // An epoch that was not evaluated (`--eval-every`) shows a dash in each figure's column.
        func figure(_ value: Double?, width: Int) -> String {
            value.map { String(format: " │ %*.4f", width, $0) } ?? " │ " + String(repeating: " ", count: width - 1) + "-"
        }
        for k in ks {
            let m = r.metric(k: k)
            line += figure(m?.recall, width: 8 + String(k).count) + figure(m?.ndcg, width: 6 + String(k).count)
        }
        if validation, let k = ks.first {
            line += figure(r.validationMetrics.first?.recall, width: 12 + String(k).count)
        }
        line += r.auditExact ? " │ exact" : " │ MISMATCH"
        // Unbuffered, so that a log file or a pipe sees each epoch as it ends.
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        var object: [String: Any] = [
            "event": "epoch", "epoch": r.epoch + 1, "loss": r.meanLoss, "examples": r.examples,
            "train_seconds": r.trainSeconds, "examples_per_second": r.examplesPerSecond,
            "audit_exact": r.auditExact, "audit_count": r.audit.count, "evaluation_seconds": r.evaluationSeconds,
            "evaluation_users": r.metrics.first?.users ?? 0,
            "elapsed_seconds": r.elapsedSeconds,
        ]
        for m in r.metrics {
            object["recall@\(m.k)"] = m.recall
            object["ndcg@\(m.k)"] = m.ndcg
        }
        for m in r.validationMetrics {
            object["val_recall@\(m.k)"] = m.recall
            object["val_ndcg@\(m.k)"] = m.ndcg
        }
        if let wait = r.stepWaitSeconds, let optimizer = r.stepOptimizerSeconds {
            object["step_wait_seconds"] = wait
            object["step_optimizer_seconds"] = optimizer
        }
        if r.recovered {
            for key in ["loss", "train_seconds", "examples_per_second", "elapsed_seconds"] { object[key] = NSNull() }
            object["recovered"] = true
        }
        guard recordedEpochs.insert(r.epoch + 1).inserted else { return false }
        if let sample = evaluationSample, let m = r.metrics.first {
            logger.info("epoch \(r.epoch + 1): Recall@\(m.k) \(String(format: "%.4f", m.recall)) on a sample of \(m.users) test users (of \(sample.of))")
        }
        record(object)
        return true
    }

    /// An epoch record of metrics.jsonl read back (the figures that model selection needs).
    static func epochResult(from object: [String: Any], ks: [Int]) -> EpochResult {
        func metrics(_ prefix: String) -> [RankingMetrics] {
            ks.compactMap { k in
                guard let recall = object[prefix + "recall@\(k)"] as? Double,
                      let ndcg = object[prefix + "ndcg@\(k)"] as? Double else { return nil }
                return RankingMetrics(k: k, recall: recall, ndcg: ndcg, users: 0)
            }
        }
        var result = EpochResult(epoch: (object["epoch"] as? Int ?? 1) - 1, meanLoss: object["loss"] as? Double ?? 0,
                                 examples: object["examples"] as? Int ?? 0,
                                 trainSeconds: object["train_seconds"] as? Double ?? 0,
                                 auditExact: object["audit_exact"] as? Bool ?? false, audit: EpochAudit(),
                                 metrics: metrics(""), evaluationSeconds: object["evaluation_seconds"] as? Double ?? 0)
        result.validationMetrics = metrics("val_")
        result.elapsedSeconds = object["elapsed_seconds"] as? Double ?? 0
        return result
    }

    func close() { try? handle?.close() }
}
