import Foundation

/// Cluster events of one or more runs on a time axis: one lane per run, with the epoch ends as ticks and the
/// workers' joins, deaths and rejoins as symbols (each symbol's `<title>` says what happened).
public struct TimelineChart: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case joined, lost, rejoined, epoch, stop

        var legend: String {
            switch self {
            case .joined: return "worker joined"
            case .lost: return "worker declared dead"
            case .rejoined: return "worker rejoined"
            case .epoch: return "epoch end"
            case .stop: return "run stopped / resumed"
            }
        }

        var color: String {
            switch self {
            case .joined: return "#009E73"
            case .lost: return "#C0392B"
            case .rejoined: return "#E69F00"
            case .epoch: return "#999999"
            case .stop: return "#0072B2"
            }
        }
    }

    public struct Event: Sendable {
        public var seconds: Double
        public var kind: Kind
        public var label: String
        public init(seconds: Double, kind: Kind, label: String) {
            self.seconds = seconds
            self.kind = kind
            self.label = label
        }
    }

    public struct Lane: Sendable {
        public var name: String
        public var events: [Event]
        /// Where the lane's line ends (the run's wall time so far).
        public var endSeconds: Double
        public init(name: String, events: [Event], endSeconds: Double) {
            self.name = name
            self.events = events
            self.endSeconds = endSeconds
        }
    }

    public var title: String
    public var lanes: [Lane]
    public var width = 1290.0

    public init(title: String, lanes: [Lane]) {
        self.title = title
        self.lanes = lanes
    }

    /// The symbol of an event at (x, y).
    static func symbol(_ kind: Kind, x: Double, y: Double) -> String {
        let c = kind.color, X = Markup.coordinate(x)
        switch kind {
        case .epoch:
            return "<line x1=\"\(X)\" y1=\"\(Markup.coordinate(y - 7))\" x2=\"\(X)\" y2=\"\(Markup.coordinate(y + 7))\" stroke=\"\(c)\" stroke-width=\"1.5\"/>"
        case .joined:
            return "<circle cx=\"\(X)\" cy=\"\(Markup.coordinate(y))\" r=\"5\" fill=\"\(c)\"/>"
        case .lost:
            let a = "M\(Markup.coordinate(x - 5)) \(Markup.coordinate(y - 5))L\(Markup.coordinate(x + 5)) \(Markup.coordinate(y + 5))"
            let b = "M\(Markup.coordinate(x - 5)) \(Markup.coordinate(y + 5))L\(Markup.coordinate(x + 5)) \(Markup.coordinate(y - 5))"
            return "<path d=\"\(a)\(b)\" stroke=\"\(c)\" stroke-width=\"3\"/>"
        case .rejoined:
            return "<path d=\"M\(X) \(Markup.coordinate(y - 6))L\(Markup.coordinate(x + 6)) \(Markup.coordinate(y + 5))L\(Markup.coordinate(x - 6)) \(Markup.coordinate(y + 5))Z\" fill=\"\(c)\"/>"
        case .stop:
            return "<rect x=\"\(Markup.coordinate(x - 4))\" y=\"\(Markup.coordinate(y - 8))\" width=\"8\" height=\"16\" fill=\"\(c)\"/>"
        }
    }

    public func svg() -> String {
        let laneHeight = 34.0, top = 52.0, bottom = 40.0
        let nameWidth = min(220, max(60, (lanes.map { LineChart.textWidth($0.name) }.max() ?? 0) + 14))
        let left = nameWidth, right = 20.0
        let height = top + Double(max(lanes.count, 1)) * laneHeight + bottom
        let plotW = width - left - right
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart timeline\" width=\"\(Markup.coordinate(width))\" height=\"\(Markup.coordinate(height))\" viewBox=\"0 0 \(Markup.coordinate(width)) \(Markup.coordinate(height))\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<title>\(Markup.escape(title))</title>\n"
        out += "<text class=\"chart-title\" x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\" fill=\"#222\">\(Markup.escape(title))</text>\n"
        var lx = 10.0
        for kind in Kind.allCases {
            out += "<g class=\"legend-entry\">\(Self.symbol(kind, x: lx + 6, y: 36))<text x=\"\(Markup.coordinate(lx + 16))\" y=\"40\" fill=\"#222\">\(kind.legend)</text></g>\n"
            lx += 26 + LineChart.textWidth(kind.legend)
        }
        let end = max(lanes.map(\.endSeconds).max() ?? 0, lanes.flatMap { $0.events.map(\.seconds) }.filter(\.isFinite).max() ?? 0)
        let scale = NiceScale(minimum: 0, maximum: max(end, 1), ticks: 10)
        func px(_ s: Double) -> Double { left + scale.fraction(s) * plotW }
        let axisY = top + Double(max(lanes.count, 1)) * laneHeight
        out += "<g class=\"axis x-axis\" fill=\"\(Palette.axis)\">\n"
        for t in scale.ticks {
            let x = Markup.coordinate(px(t))
            out += "<line x1=\"\(x)\" y1=\"\(Markup.coordinate(top))\" x2=\"\(x)\" y2=\"\(Markup.coordinate(axisY + 4))\" stroke=\"\(Palette.grid)\"/>"
            out += "<text class=\"tick\" x=\"\(x)\" y=\"\(Markup.coordinate(axisY + 17))\" text-anchor=\"middle\">\(Markup.escape(scale.label(t)))</text>\n"
        }
        out += "</g>\n<text class=\"axis-label\" x=\"\(Markup.coordinate(left + plotW / 2))\" y=\"\(Markup.coordinate(height - 6))\" text-anchor=\"middle\" fill=\"#222\">seconds since the coordinator started</text>\n"
        if lanes.isEmpty {
            out += "<text class=\"empty\" x=\"\(Markup.coordinate(left + plotW / 2))\" y=\"\(Markup.coordinate(top + 20))\" text-anchor=\"middle\" fill=\"\(Palette.muted)\">no events yet</text>\n"
        }
        for (i, lane) in lanes.enumerated() {
            let y = top + Double(i) * laneHeight + laneHeight / 2
            out += "<g class=\"lane\" data-lane=\"\(Markup.escape(lane.name))\">"
            out += "<text x=\"\(Markup.coordinate(left - 8))\" y=\"\(Markup.coordinate(y + 4))\" text-anchor=\"end\" fill=\"#222\">\(Markup.escape(lane.name))</text>"
            out += "<line x1=\"\(Markup.coordinate(px(0)))\" y1=\"\(Markup.coordinate(y))\" x2=\"\(Markup.coordinate(px(max(lane.endSeconds, 0))))\" y2=\"\(Markup.coordinate(y))\" stroke=\"#bbbbbb\" stroke-width=\"2\"/>\n"
            // Epoch ticks under the worker events.
            for e in lane.events.sorted(by: { ($0.kind == .epoch ? 0 : 1) < ($1.kind == .epoch ? 0 : 1) })
            where e.seconds.isFinite {
                out += "<g class=\"event \(e.kind.rawValue)\"><title>\(Markup.escape(e.label))</title>\(Self.symbol(e.kind, x: px(e.seconds), y: y))</g>\n"
            }
            out += "</g>\n"
        }
        return out + "</svg>\n"
    }
}
