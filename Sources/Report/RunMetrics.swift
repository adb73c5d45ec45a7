import Foundation

/// A run as its `metrics.jsonl` records it: the settings of the `start` event, one entry per `epoch` event, the
/// cluster's events, and the `end` and `selection` events when the run has finished. Every figure of the report
/// comes from here; events and fields it does not know are passed over, so older and newer files both read.
public struct RunMetrics {
    public struct Epoch {
        public var epoch: Int
        public var loss: Double
        public var examples: Int
        public var trainSeconds: Double
        public var examplesPerSecond: Double
        public var evaluationSeconds: Double
        /// Seconds from the coordinator's start (of the first segment of a resumed run) until the scores were known.
        public var seconds: Double
        /// Every numeric field, such as `recall@20`, `val_ndcg@20`, `step_wait_seconds`.
        public var values: [String: Double]
    }

    public struct ClusterEvent {
        public enum Kind: String { case joined, ready, lost, rejoined, earlyStop, timeLimit, resumed, stopped }
        public var kind: Kind
        /// Seconds since the coordinator started (nil when the file did not record the time).
        public var seconds: Double?
        public var worker: Int?
        public var name: String?
        public var detail: String
    }

    /// The file read.
    public let path: String
    /// The run's name in legends (its directory's name).
    public var name: String
    /// The first `start` event's fields (the run's settings).
    public var start: [String: Any] = [:]
    public var epochs: [Epoch] = []
    public var events: [ClusterEvent] = []
    public var end: [String: Any]?
    public var selection: [String: Any]?
    /// Why the coordinator stopped the run before its end (a `stopped` event), if it did.
    public var stopped: String?
    /// `start` events after the first: restarts from a checkpoint.
    public var resumptions = 0

    /// The run's cut-offs K, from the epoch records (`recall@K`), ascending.
    public var ks: [Int] {
        Set(epochs.flatMap { $0.values.keys.compactMap { key -> Int? in
            key.hasPrefix("recall@") ? Int(key.dropFirst(7)) : nil
        } }).sorted()
    }

    public var hasValidation: Bool { epochs.contains { $0.values.keys.contains { $0.hasPrefix("val_recall@") } } }

    /// The epoch chosen on the validation split: from the `selection` event once the run has ended, else the best
    /// validation Recall@K of the first cut-off so far (ties: the earlier epoch, as the trainer chooses).
    public var validationChosenEpoch: Int? {
        if let chosen = selection?["validation_chosen_epoch"] as? Int { return chosen }
        guard let k = ks.first else { return nil }
        var best: (epoch: Int, score: Double)?
        for e in epochs {
            if let s = e.values["val_recall@\(k)"], s.isFinite, s > (best?.score ?? -1) { best = (e.epoch, s) }
        }
        return best?.epoch
    }

    public func startString(_ key: String) -> String? {
        switch start[key] {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    public func startNumber(_ key: String) -> Double? { (start[key] as? NSNumber)?.doubleValue }

    /// Reads `path`. Throws a `ReportError` naming the file, and the line, when the file is missing, unreadable,
    /// not JSON lines, or has no `start` event. A last line without its newline (being written) is left out.
    public init(path: String, name: String? = nil) throws {
        self.path = path
        self.name = name ?? URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
        guard FileManager.default.fileExists(atPath: path) else { throw ReportError.missing(path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError("\(path): cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ReportError("\(path): not UTF-8 text")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var sawStart = false
        var offset = 0.0, lastSeconds = 0.0
        var namesById: [Int: String] = [:]
        var lostNames: Set<String> = []
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let unterminated = index == lines.count - 1
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                if unterminated { break }
                throw ReportError.garbled(path, line: number, "not a JSON object")
            }
            guard let event = object["event"] as? String else {
                throw ReportError.garbled(path, line: number, "no \"event\" field")
            }
            func seconds(_ key: String = "run_seconds") -> Double? {
                (object[key] as? NSNumber).map { offset + $0.doubleValue }
            }
            if event != "start" && !sawStart {
                throw ReportError.garbled(path, line: number, "a \(event) event before the run's start event")
            }
            switch event {
            case "start":
                if sawStart {
                    // A restart from a checkpoint: what ended or stopped the earlier part no longer holds.
                    resumptions += 1
                    offset = lastSeconds
                    end = nil
                    stopped = nil
                    events.append(ClusterEvent(kind: .resumed, seconds: offset, worker: nil, name: nil,
                                               detail: "restarted from a checkpoint"))
                } else {
                    start = object
                    sawStart = true
                }
            case "epoch":
                guard let epoch = object["epoch"] as? Int, epoch >= 1 else {
                    throw ReportError.garbled(path, line: number, "an epoch event without a positive \"epoch\"")
                }
                var values: [String: Double] = [:]
                for (key, value) in object {
                    if let n = value as? NSNumber, !Self.isBoolean(value) { values[key] = n.doubleValue }
                }
                let at = seconds("elapsed_seconds") ?? seconds() ?? .nan
                epochs.append(Epoch(epoch: epoch, loss: values["loss"] ?? .nan, examples: Int(values["examples"] ?? 0),
                                    trainSeconds: values["train_seconds"] ?? .nan,
                                    examplesPerSecond: values["examples_per_second"] ?? .nan,
                                    evaluationSeconds: values["evaluation_seconds"] ?? .nan, seconds: at,
                                    values: values))
            case "member_joined":
                let id = object["worker"] as? Int
                let name = object["name"] as? String
                if let id, let name { namesById[id] = name }
                let rejoin = name.map { lostNames.contains($0) } ?? false
                events.append(ClusterEvent(kind: rejoin ? .rejoined : .joined, seconds: seconds(), worker: id,
                                           name: name, detail: rejoin ? "rejoined" : "joined"))
            case "member_lost":
                let id = object["worker"] as? Int
                let name = id.flatMap { namesById[$0] }
                if let name { lostNames.insert(name) }
                var detail = "declared dead: \(object["reason"] as? String ?? "no reason recorded")"
                if let n = object["reassigned"] as? Int { detail += "; \(n) minibatch(es) reassigned" }
                if let step = object["step"] as? Int { detail += "; at step \(step)" }
                events.append(ClusterEvent(kind: .lost, seconds: seconds(), worker: id, name: name, detail: detail))
            case "early_stop", "time_limit":
                let after = object["after_epoch"] as? Int
                events.append(ClusterEvent(kind: event == "early_stop" ? .earlyStop : .timeLimit, seconds: seconds(),
                                           worker: nil, name: nil,
                                           detail: (event == "early_stop" ? "early stop" : "time limit")
                                               + (after.map { ", training ends after epoch \($0)" } ?? "")))
            case "stopped":
                stopped = object["detail"] as? String ?? object["reason"] as? String ?? "stopped"
                events.append(ClusterEvent(kind: .stopped, seconds: seconds(), worker: nil, name: nil,
                                           detail: "the coordinator stopped: \(stopped!)"))
            case "end":
                var object = object
                if let wall = object["wall_seconds"] as? NSNumber { object["wall_seconds"] = offset + wall.doubleValue }
                end = object
            case "selection":
                selection = object
            default:
                break
            }
            if let s = seconds() ?? seconds("elapsed_seconds") { lastSeconds = max(lastSeconds, s) }
            if event == "end", let wall = end?["wall_seconds"] as? Double { lastSeconds = max(lastSeconds, wall) }
        }
        guard sawStart else {
            throw ReportError("\(path): no start event (is it a metrics.jsonl of this trainer?)")
        }
    }

    /// Whether a JSON value is true or false (which Foundation also hands out as a number).
    static func isBoolean(_ value: Any) -> Bool {
        value is NSNumber && String(describing: type(of: value)).contains("Boolean")
    }

    /// The run's time so far: the end's wall time, or the last time recorded.
    public var wallSeconds: Double {
        if let wall = end?["wall_seconds"] as? Double { return wall }
        let times = epochs.map(\.seconds) + events.compactMap(\.seconds)
        return times.filter(\.isFinite).max() ?? 0
    }

    /// Mean seconds per step of each epoch: its training time over its steps (examples / batch size, rounded up).
    public func stepSeconds(_ e: Epoch) -> Double {
        guard let batch = startNumber("batch_size"), batch > 0, e.examples > 0 else { return .nan }
        return e.trainSeconds / (Double(e.examples) / batch).rounded(.up)
    }
}
