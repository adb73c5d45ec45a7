import Foundation

/// The HTML page of one run, or of several overlaid: built from their `metrics.jsonl` alone, readable offline (inline
/// SVG and CSS, no script, nothing fetched).
public struct ReportPage {
    public let runs: [RunMetrics]
    /// When the page was made (shown in the footer).
    public var generated = Date()

    public init(runs: [RunMetrics]) {
        precondition(!runs.isEmpty, "a report needs at least one run")
        self.runs = runs
    }

    /// Writes the page to `path` atomically (a temporary file beside it, then a rename), so that a browser
    /// reloading it never sees half a page.
    public func write(to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            try Data(html().utf8).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw ReportError("cannot write \(temporary): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ReportError("cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    var single: Bool { runs.count == 1 }

    /// Series colour of run `index`; a single run uses the second colour for its validation curves.
    func color(run index: Int, validation: Bool = false) -> String {
        single ? Palette.color(validation ? 1 : 0) : Palette.color(index)
    }

    /// The name of a curve: "test" for a single run, else the run's name.
    func seriesName(_ run: RunMetrics, _ what: String) -> String {
        single ? what : what.isEmpty ? run.name : "\(run.name) \(what)"
    }

    public func html() -> String {
        let title = single ? "Training report: \(runs[0].name)" : "Training report: \(runs.map(\.name).joined(separator: ", "))"
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Markup.escape(title))</title>
            <style>\(Self.css)</style></head>
            <body><main>
            <h1>\(Markup.escape(title))</h1>

            """
        out += summary()
        out += "<h2>Training</h2>\n<div class=\"charts\">\n"
        for chart in charts() { out += "<figure>\(chart)</figure>\n" }
        out += "</div>\n"
        out += stepTimeNote()
        out += "<h2>Cluster</h2>\n<figure class=\"wide\">\(timeline().svg())</figure>\n"
        out += clusterNote()
        out += settingsSection()
        out += trafficSection()
        out += publishedSection()
        let files = runs.map { "<code>\(Markup.escape($0.path))</code>" }.joined(separator: ", ")
        let stamp = ISO8601DateFormatter().string(from: generated)
        out += "<footer>Made from \(files) at \(stamp) (UTC). Every figure on this page is read from that file; "
            + "<code>coordinator report RUN_DIR</code> makes the page again.</footer>\n</main></body></html>\n"
        return out
    }

    static let css = """
        body{margin:0;background:#fff;color:#222;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
        main{max-width:1320px;margin:0 auto;padding:12px 16px 32px}
        h1{font-size:22px;margin:4px 0 8px}h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
        .cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
        .card{border:1px solid #ddd;border-radius:6px;padding:4px 10px;min-width:100px;background:#fafafa}
        .card b{display:block;font-size:18px}.card>span{color:#666;font-size:12px}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px 20px}
        figure{margin:0}svg{max-width:100%;height:auto;display:block}
        table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
        th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
        th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
        .note{color:#555;font-size:13px;max-width:1100px}.status-running{color:#b35c00}.status-finished{color:#1a7f37}.status-stopped{color:#c0392b}
        footer{margin-top:24px;color:#777;font-size:12px}code{font-size:12px}
        """

    func summary() -> String {
        var out = ""
        for (i, run) in runs.enumerated() {
            if !single { out += "<h3 style=\"color:\(Palette.color(i))\">\(Markup.escape(run.name))</h3>\n" }
            var cards: [(String, String)] = []
            let planned = run.startNumber("epochs").map { Int($0) }
            if let stopped = run.stopped {
                cards.append(("<span class=\"status-stopped\">stopped</span>",
                              "after \(run.epochs.count) epoch\(run.epochs.count == 1 ? "" : "s"): \(Markup.escape(stopped))"))
            } else if run.end != nil {
                cards.append(("<span class=\"status-finished\">finished</span>",
                              "\(run.epochs.count) epoch\(run.epochs.count == 1 ? "" : "s") in \(Markup.duration(run.wallSeconds))"))
            } else {
                cards.append(("<span class=\"status-running\">running</span>",
                              "epoch \(run.epochs.count)\(planned.map { " of \($0)" } ?? "") done, \(Markup.duration(run.wallSeconds)) so far"))
            }
            cards.append((Markup.escape(run.startString("dataset") ?? "?"),
                          "\(Markup.grouped(Int(run.startNumber("users") ?? 0))) users × \(Markup.grouped(Int(run.startNumber("items") ?? 0))) items"))
            if let k = run.ks.first, let last = run.epochs.last {
                cards.append((Markup.figure(last.values["recall@\(k)"] ?? .nan),
                              "Recall@\(k), last epoch (\(last.epoch))"))
                cards.append((Markup.figure(last.values["ndcg@\(k)"] ?? .nan), "NDCG@\(k), last epoch"))
                if let chosen = run.validationChosenEpoch, let e = run.epochs.last(where: { $0.epoch == chosen }) {
                    cards.append((Markup.figure(e.values["recall@\(k)"] ?? .nan),
                                  "Recall@\(k) at epoch \(chosen), chosen on validation"))
                }
            }
            if let last = run.epochs.last {
                cards.append((Markup.figure(last.examplesPerSecond, digits: 3), "examples/s, last epoch"))
            }
            let lost = run.events.filter { $0.kind == .lost }.count
            cards.append(("\(lost)", lost == 1 ? "worker declared dead" : "workers declared dead"))
            out += "<div class=\"cards\">" + cards.map { "<div class=\"card\"><b>\($0.0)</b><span>\($0.1)</span></div>" }
                .joined() + "</div>\n"
        }
        return out
    }
}
