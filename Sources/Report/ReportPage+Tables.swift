import Foundation

extension ReportPage {
    /// The settings of the start event that the table names, in this order; any others follow under their keys.
    static let settingLabels: [(key: String, label: String)] = [
        ("dataset", "dataset"), ("users", "users"), ("items", "items"), ("train", "training pairs"),
        ("validation", "validation pairs held out"), ("epochs", "epochs (planned)"), ("dim", "dimension d"),
        ("batch_size", "pairs per step"), ("minibatch_size", "pairs per minibatch"), ("loss", "loss"),
        ("similarity", "similarity (training and ranking)"), ("negatives", "negatives K"),
        ("temperature", "temperature τ"), ("positive_temperature", "positive temperature τ⁺"),
        ("live_negatives", "live negatives"), ("optimizer", "optimizer"), ("lr", "learning rate"),
        ("weight_decay", "weight decay"), ("lr_schedule", "learning-rate schedule"), ("seed", "seed"),
        ("workers", "workers awaited"), ("patience", "patience (epochs)"), ("endpoint", "endpoint"),
    ]

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "–"
        case let n as NSNumber:
            if RunMetrics.isBoolean(n) { return n.boolValue ? "yes" : "no" }
            let d = n.doubleValue
            return d == d.rounded() && abs(d) < 1e15 ? Markup.grouped(Int(d)) : String(format: "%g", d)
        case let s as String: return s
        default: return String(describing: value!)
        }
    }

    func settingsSection() -> String {
        var out = "<h2>Settings</h2>\n"
        for run in runs {
            guard let preset = run.start["preset"] as? [String: Any] else { continue }
            let name = preset["name"] as? String ?? "?"
            var line = "\(single ? "" : run.name + ": ")preset <b>\(Markup.escape(name))</b>"
            if let reason = preset["reason"] as? String { line += ": " + Markup.escape(reason) }
            if let chose = preset["chose"] as? [String: Any], !chose.isEmpty {
                line += " (chose " + chose.keys.sorted().map { "\(Markup.escape($0)) \(Markup.escape(Self.text(chose[$0])))" }
                    .joined(separator: ", ") + ")"
            }
            out += "<p class=\"note\">\(line). Flags given as well override a preset.</p>\n"
        }
        let named = Set(Self.settingLabels.map(\.key) + ["event", "preset", "run_seconds"])
        let others = Set(runs.flatMap { $0.start.keys }).subtracting(named).sorted()
        let rows = Self.settingLabels + others.map { ($0, $0) }
        let present = rows.filter { key, _ in runs.contains { $0.start[key] != nil } }
        if single {
            // One run: three (setting, value) pairs per row, so that the table fits a screen.
            out += "<table class=\"settings\">\n"
            var i = 0
            while i < present.count {
                out += "<tr>" + present[i ..< min(i + 3, present.count)].map { key, label in
                    "<th>\(Markup.escape(label))</th><td>\(Markup.escape(Self.text(runs[0].start[key])))</td>"
                }.joined() + "</tr>\n"
                i += 3
            }
            return out + "</table>\n"
        }
        out += "<table class=\"settings\"><tr><th>setting</th>"
            + runs.map { "<th>\(Markup.escape($0.name))</th>" }.joined() + "</tr>\n"
        for (key, label) in present {
            out += "<tr><td>\(Markup.escape(label))</td>"
                + runs.map { "<td>\(Markup.escape(Self.text($0.start[key])))</td>" }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }

    func trafficSection() -> String {
        var out = "<h2>Wire traffic</h2>\n"
        let ended = runs.filter { $0.end != nil }
        if ended.isEmpty {
            return out + "<p class=\"note\">The coordinator records its traffic when the run ends; \(single ? "this run has" : "these runs have") not ended yet.</p>\n"
        }
        out += "<table><tr><th>run</th><th>direction</th><th>on the wire</th><th>sparse minimum</th><th>wire / minimum</th><th>messages</th></tr>\n"
        for run in ended {
            let end = run.end!
            for (direction, wire, minimum, messages) in [
                ("coordinator → workers", "wire_bytes_sent", "sparse_minimum_bytes_sent", "wire_messages_sent"),
                ("workers → coordinator", "wire_bytes_received", "sparse_minimum_bytes_received", "wire_messages_received"),
            ] {
                let w = (end[wire] as? NSNumber)?.doubleValue ?? .nan
                let m = (end[minimum] as? NSNumber)?.doubleValue ?? .nan
                let ratio = m > 0 ? String(format: "%.2f×", w / m) : "–"
                out += "<tr><td>\(Markup.escape(run.name))</td><td>\(direction)</td><td class=\"num\">\(Markup.bytes(w))</td>"
                    + "<td class=\"num\">\(Markup.bytes(m))</td><td class=\"num\">\(ratio)</td>"
                    + "<td class=\"num\">\(Markup.escape(Self.text(end[messages])))</td></tr>\n"
            }
        }
        out += "</table>\n<p class=\"note\">On the wire: header and payload of every message the coordinator sent or received. "
            + "Sparse minimum: the rows that had to move, a u32 id and d float32 values each (the gradient rows of every "
            + "applied minibatch in; each step's delta rows once per worker out). Above it: task lists, snapshots for "
            + "joining workers, heartbeats, resends and headers.</p>\n"
        return out
    }

    func publishedSection() -> String {
        var out = ""
        for (i, run) in runs.enumerated() {
            guard let users = run.startNumber("users"), let items = run.startNumber("items"),
                  let known = PublishedFigures.matching(users: Int(users), items: Int(items)) else { continue }
            out += "<h2>\(Markup.escape(known.dataset)): published figures\(single ? "" : " (" + Markup.escape(run.name) + ")")</h2>\n"
            var shape = "\(Markup.grouped(known.users)) users, \(Markup.grouped(known.items)) items"
            if let train = known.train, let test = known.test {
                shape += ", \(Markup.grouped(train)) training and \(Markup.grouped(test)) test pairs"
            }
            out += "<p class=\"note\">\(shape); \(Markup.escape(known.origin)). Source: \(Markup.escape(PublishedFigures.source)).</p>\n"
            guard !known.results.isEmpty else {
                out += "<p class=\"note\">No published Recall@20 / NDCG@20 for this dataset in the source table.</p>\n"
                continue
            }
            out += "<table><tr><th>model</th><th>Recall@20</th><th>NDCG@20</th><th>how</th></tr>\n"
            var mine: [(String, RunMetrics.Epoch)] = []
            if let last = run.epochs.last { mine.append(("last epoch (\(last.epoch))", last)) }
            if let chosen = run.validationChosenEpoch, let e = run.epochs.last(where: { $0.epoch == chosen }) {
                mine.append(("epoch \(chosen), chosen on the validation split", e))
            }
            if let best = run.epochs.max(by: { ($0.values["recall@20"] ?? -1) < ($1.values["recall@20"] ?? -1) }),
               run.epochs.count > 1 {
                mine.append(("best test epoch (\(best.epoch)), chosen on the test set as published tables do", best))
            }
            for (how, e) in mine {
                out += "<tr style=\"color:\(color(run: i))\"><td><b>this run</b></td><td class=\"num\"><b>\(Markup.figure(e.values["recall@20"] ?? .nan))</b></td>"
                    + "<td class=\"num\"><b>\(Markup.figure(e.values["ndcg@20"] ?? .nan))</b></td><td>\(Markup.escape(how))</td></tr>\n"
            }
            for r in known.results {
                out += "<tr><td>\(Markup.escape(r.model))</td><td class=\"num\">\(Markup.figure(r.recall20))</td>"
                    + "<td class=\"num\">\(Markup.figure(r.ndcg20))</td><td>published; \(Markup.escape(r.note))</td></tr>\n"
            }
            out += "</table>\n"
        }
        return out
    }
}
