import Foundation

extension ReportPage {
    /// The per-epoch charts: loss, Recall@K and NDCG@K (test and validation, chosen epoch marked), throughput, and
    /// time per step.
    func charts() -> [String] {
        var out: [String] = []
        var loss = LineChart(title: "Training loss (mean per example)", xLabel: "epoch", yLabel: "loss",
                             series: runs.enumerated().map { i, run in
                                 ChartSeries(name: seriesName(run, ""), points: run.epochs.map { (Double($0.epoch), $0.loss) },
                                             color: color(run: i))
                             })
        loss.minimumXStep = 1
        out.append(loss.svg())

        let ks = Array(Set(runs.flatMap(\.ks))).sorted()
        for k in ks.isEmpty ? [20] : ks {
            for metric in ["recall", "ndcg"] {
                let label = metric == "recall" ? "Recall@\(k)" : "NDCG@\(k)"
                var series: [ChartSeries] = []
                var markers: [ChartMarker] = []
                for (i, run) in runs.enumerated() {
                    series.append(ChartSeries(name: seriesName(run, "test"),
                                              points: run.epochs.map { (Double($0.epoch), $0.values["\(metric)@\(k)"] ?? .nan) },
                                              color: color(run: i)))
                    if run.hasValidation {
                        series.append(ChartSeries(name: seriesName(run, "validation"),
                                                  points: run.epochs.map { (Double($0.epoch), $0.values["val_\(metric)@\(k)"] ?? .nan) },
                                                  color: color(run: i, validation: true), dashed: true))
                    }
                    if let marker = chosenMarker(run, index: i, key: "\(metric)@\(k)") { markers.append(marker) }
                }
                var chart = LineChart(title: "\(label) per epoch (full ranking, training items excluded)",
                                      xLabel: "epoch", yLabel: label, series: series)
                chart.markers = markers
                chart.minimumXStep = 1
                out.append(chart.svg())
            }
        }

        var throughput = LineChart(title: "Throughput (training examples per second)", xLabel: "epoch",
                                   yLabel: "examples / s", series: runs.enumerated().map { i, run in
                                       ChartSeries(name: seriesName(run, ""),
                                                   points: run.epochs.map { (Double($0.epoch), $0.examplesPerSecond) },
                                                   color: color(run: i))
                                   })
        throughput.minimumXStep = 1
        throughput.yFromZero = true
        out.append(throughput.svg())

        var stepSeries: [ChartSeries] = []
        for (i, run) in runs.enumerated() {
            stepSeries.append(ChartSeries(name: seriesName(run, "whole step"),
                                          points: run.epochs.map { (Double($0.epoch), 1000 * run.stepSeconds($0)) },
                                          color: color(run: i)))
            for (part, dash) in Self.stepParts where run.epochs.contains(where: { $0.values[part.key] != nil }) {
                stepSeries.append(ChartSeries(name: seriesName(run, part.label),
                                              points: run.epochs.map { (Double($0.epoch), 1000 * ($0.values[part.key] ?? .nan)) },
                                              color: single ? Palette.color(dash + 1) : color(run: i), dashed: true))
            }
        }
        var step = LineChart(title: "Time per step (mean over the epoch)", xLabel: "epoch", yLabel: "milliseconds",
                             series: stepSeries)
        step.minimumXStep = 1
        step.yFromZero = true
        out.append(step.svg())
        return out
    }

    /// The parts of a step that a run may record per epoch (mean seconds per step), in the order drawn.
    static let stepParts: [((key: String, label: String), Int)] = [
        (("step_compute_seconds", "workers computing"), 1),
        (("step_wait_seconds", "waiting for workers"), 2),
        (("step_optimizer_seconds", "optimizer"), 3),
    ]

    /// The epoch to mark on a run's test curve: the one chosen on the validation split, else the best test epoch
    /// (labelled as chosen on the test set).
    func chosenMarker(_ run: RunMetrics, index: Int, key: String) -> ChartMarker? {
        if let chosen = run.validationChosenEpoch, let e = run.epochs.last(where: { $0.epoch == chosen }),
           let y = e.values[key] {
            return ChartMarker(x: Double(chosen), y: y, label: single ? "chosen on validation: epoch \(chosen)" : "\(run.name): chosen \(chosen)",
                               color: color(run: index))
        }
        guard let firstK = run.ks.first else { return nil }
        var best: RunMetrics.Epoch?
        for e in run.epochs {
            if let s = e.values["recall@\(firstK)"], s > (best?.values["recall@\(firstK)"] ?? -1) { best = e }
        }
        guard let best, let y = best.values[key], run.epochs.count > 1 else { return nil }
        return ChartMarker(x: Double(best.epoch), y: y,
                           label: single ? "best test epoch \(best.epoch)" : "\(run.name): best test \(best.epoch)",
                           color: color(run: index))
    }

    func stepTimeNote() -> String {
        let recorded = Self.stepParts.filter { part in runs.contains { $0.epochs.contains { $0.values[part.0.key] != nil } } }
        var text = "Time per step is the epoch's training time over its steps (training examples / batch size), from "
            + "the first STEP of the epoch to its last applied step; evaluation runs beside training and is not in it. "
        if recorded.count == Self.stepParts.count {
            text += "The split into " + Self.stepParts.map(\.0.label).joined(separator: ", ") + " is as the run recorded it."
        } else {
            let missing = Self.stepParts.filter { p in !recorded.contains { $0.0.key == p.0.key } }
            text += "Not known for "
                + (runs.count == 1 ? "this run" : "these runs")
                + ": how much of a step is " + missing.map(\.0.label).joined(separator: ", ")
                + " (metrics.jsonl has no " + missing.map { "<code>\($0.0.key)</code>" }.joined(separator: ", ")
                + " in its epoch events), so only the whole step is drawn."
        }
        return "<p class=\"note\">\(text)</p>\n"
    }

    func timeline() -> TimelineChart {
        let lanes = runs.map { run -> TimelineChart.Lane in
            var events: [TimelineChart.Event] = run.epochs.map {
                TimelineChart.Event(seconds: $0.seconds, kind: .epoch,
                                    label: "epoch \($0.epoch) scored at \(Markup.duration($0.seconds))")
            }
            for e in run.events {
                guard let s = e.seconds else { continue }
                let who = e.name.map { "worker \(e.worker.map(String.init) ?? "?") (\($0))" }
                    ?? e.worker.map { "worker \($0)" } ?? ""
                let kind: TimelineChart.Kind
                switch e.kind {
                case .joined: kind = .joined
                case .rejoined: kind = .rejoined
                case .lost: kind = .lost
                case .ready: continue
                case .earlyStop, .timeLimit, .resumed, .stopped: kind = .stop
                }
                events.append(TimelineChart.Event(seconds: s, kind: kind,
                                                  label: "\(Markup.duration(s)): \(who.isEmpty ? "" : who + " ")\(e.detail)"))
            }
            return TimelineChart.Lane(name: run.name, events: events, endSeconds: run.wallSeconds)
        }
        return TimelineChart(title: "Workers and epochs over time (hover a symbol for details)", lanes: lanes)
    }

    func clusterNote() -> String {
        var rows = ""
        for run in runs {
            for e in run.events where e.kind != .ready {
                let who = e.name.map { "\(e.worker.map(String.init) ?? "?") (\($0))" } ?? e.worker.map(String.init) ?? ""
                rows += "<tr><td>\(Markup.escape(run.name))</td><td class=\"num\">\(e.seconds.map { Markup.duration($0) } ?? "not recorded")</td>"
                    + "<td>\(Markup.escape(who))</td><td>\(Markup.escape(e.detail))</td></tr>\n"
            }
        }
        let untimed = runs.flatMap(\.events).contains { $0.seconds == nil }
        var out = ""
        if untimed {
            out += "<p class=\"note\">Some events carry no time (metrics written before events were timed); they are listed below but not drawn.</p>\n"
        }
        if rows.isEmpty {
            return out + "<p class=\"note\">No worker events recorded (this file's runs record joins, deaths and rejoins as <code>member_joined</code> / <code>member_lost</code> events).</p>\n"
        }
        return out + "<table><tr><th>run</th><th>time</th><th>worker</th><th>what</th></tr>\n\(rows)</table>\n"
    }
}
