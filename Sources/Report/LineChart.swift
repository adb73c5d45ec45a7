import Foundation

/// One line of a chart: (x, y) points in x order. A point whose x or y is not finite breaks the line there.
public struct ChartSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var color: String
    public var dashed: Bool

    public init(name: String, points: [(x: Double, y: Double)], color: String, dashed: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.dashed = dashed
    }

    /// The runs of consecutive finite points (each drawn as one polyline).
    public var segments: [[(x: Double, y: Double)]] {
        var out: [[(x: Double, y: Double)]] = []
        var current: [(x: Double, y: Double)] = []
        for p in points {
            if p.x.isFinite && p.y.isFinite {
                current.append(p)
            } else if !current.isEmpty {
                out.append(current)
                current = []
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}

/// A marked point, such as the epoch that model selection chose: a ring around (x, y) with a label.
public struct ChartMarker: Sendable {
    public var x: Double
    public var y: Double
    public var label: String
    public var color: String

    public init(x: Double, y: Double, label: String, color: String) {
        self.x = x
        self.y = y
        self.label = label
        self.color = color
    }
}

/// A line chart as a standalone SVG element: title, axes with nice ticks, grid, a legend, one polyline per run of
/// finite points (a lone point is drawn as a dot), and markers. No script, no external resources.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [ChartSeries]
    public var markers: [ChartMarker] = []
    /// Ticks on the x axis no finer than this (1 for epochs).
    public var minimumXStep: Double = 0
    /// Let the y axis start at zero when all values are positive.
    public var yFromZero = false
    /// Shown in place of the plot when no series has a finite point.
    public var emptyText = "no data yet"
    public var width = 640.0
    public var height = 300.0

    public init(title: String, xLabel: String, yLabel: String, series: [ChartSeries]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// Approximate width of a label in the chart's 12 px sans-serif font.
    static func textWidth(_ text: String) -> Double { Double(text.count) * 6.6 }

    /// Legend entries in rows that fit the width: (series index, x offset, row).
    func legendLayout() -> [(index: Int, x: Double, row: Int)] {
        var out: [(Int, Double, Int)] = []
        var x = 0.0, row = 0
        let available = width - 70
        for (i, s) in series.enumerated() {
            let w = 28 + Self.textWidth(s.name) + 14
            if x > 0 && x + w > available { x = 0; row += 1 }
            out.append((i, x, row))
            x += w
        }
        return out
    }

    public func svg() -> String {
        let finite = series.flatMap { $0.segments.flatMap { $0 } } + markers.map { (x: $0.x, y: $0.y) }
            .filter { $0.x.isFinite && $0.y.isFinite }
        let legend = legendLayout()
        let legendRows = series.count > 1 || !(series.first?.name.isEmpty ?? true) ? (legend.last?.row ?? -1) + 1 : 0
        let left = 62.0, right = 18.0, top = 34.0 + Double(legendRows) * 18, bottom = 46.0
        let plotW = width - left - right, plotH = height - top - bottom
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Markup.coordinate(width))\" height=\"\(Markup.coordinate(height))\" viewBox=\"0 0 \(Markup.coordinate(width)) \(Markup.coordinate(height))\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<title>\(Markup.escape(title))</title>\n"
        out += "<text class=\"chart-title\" x=\"\(Markup.coordinate(left))\" y=\"18\" font-size=\"14\" font-weight=\"bold\" fill=\"#222\">\(Markup.escape(title))</text>\n"
        if legendRows > 0 {
            for (index, x, row) in legend {
                let s = series[index]
                let lx = left + x, ly = 34.0 + Double(row) * 18 - 4
                out += "<g class=\"legend-entry\"><line x1=\"\(Markup.coordinate(lx))\" y1=\"\(Markup.coordinate(ly))\" x2=\"\(Markup.coordinate(lx + 22))\" y2=\"\(Markup.coordinate(ly))\" stroke=\"\(Markup.escape(s.color))\" stroke-width=\"2.5\"\(s.dashed ? " stroke-dasharray=\"6 3\"" : "")/>"
                out += "<text x=\"\(Markup.coordinate(lx + 27))\" y=\"\(Markup.coordinate(ly + 4))\" fill=\"#222\">\(Markup.escape(s.name))</text></g>\n"
            }
        }
        guard !finite.isEmpty else {
            out += "<rect x=\"\(Markup.coordinate(left))\" y=\"\(Markup.coordinate(top))\" width=\"\(Markup.coordinate(plotW))\" height=\"\(Markup.coordinate(plotH))\" fill=\"#fafafa\" stroke=\"\(Palette.grid)\"/>\n"
            out += "<text class=\"empty\" x=\"\(Markup.coordinate(left + plotW / 2))\" y=\"\(Markup.coordinate(top + plotH / 2))\" text-anchor=\"middle\" fill=\"\(Palette.muted)\">\(Markup.escape(emptyText))</text>\n"
            return out + "</svg>\n"
        }
        let xs = finite.map(\.x), ys = finite.map(\.y)
        let xScale = NiceScale(minimum: xs.min()!, maximum: xs.max()!, ticks: 6, minimumStep: minimumXStep)
        var yMin = ys.min()!
        if yFromZero && yMin > 0 { yMin = 0 }
        let yScale = NiceScale(minimum: yMin, maximum: ys.max()!, ticks: 5)
        func px(_ x: Double) -> Double { left + xScale.fraction(x) * plotW }
        func py(_ y: Double) -> Double { top + (1 - yScale.fraction(y)) * plotH }

        // Grid and ticks.
        out += "<g class=\"axis y-axis\" fill=\"\(Palette.axis)\">\n"
        for t in yScale.ticks {
            let y = Markup.coordinate(py(t))
            out += "<line x1=\"\(Markup.coordinate(left))\" y1=\"\(y)\" x2=\"\(Markup.coordinate(left + plotW))\" y2=\"\(y)\" stroke=\"\(Palette.grid)\"/>"
            out += "<text class=\"tick\" x=\"\(Markup.coordinate(left - 6))\" y=\"\(Markup.coordinate(py(t) + 4))\" text-anchor=\"end\">\(Markup.escape(yScale.label(t)))</text>\n"
        }
        out += "</g>\n<g class=\"axis x-axis\" fill=\"\(Palette.axis)\">\n"
        for t in xScale.ticks {
            let x = Markup.coordinate(px(t))
            out += "<line x1=\"\(x)\" y1=\"\(Markup.coordinate(top + plotH))\" x2=\"\(x)\" y2=\"\(Markup.coordinate(top + plotH + 4))\" stroke=\"\(Palette.axis)\"/>"
            out += "<text class=\"tick\" x=\"\(x)\" y=\"\(Markup.coordinate(top + plotH + 17))\" text-anchor=\"middle\">\(Markup.escape(xScale.label(t)))</text>\n"
        }
        out += "</g>\n"
        out += "<rect x=\"\(Markup.coordinate(left))\" y=\"\(Markup.coordinate(top))\" width=\"\(Markup.coordinate(plotW))\" height=\"\(Markup.coordinate(plotH))\" fill=\"none\" stroke=\"\(Palette.axis)\"/>\n"
        out += "<text class=\"axis-label\" x=\"\(Markup.coordinate(left + plotW / 2))\" y=\"\(Markup.coordinate(height - 8))\" text-anchor=\"middle\" fill=\"#222\">\(Markup.escape(xLabel))</text>\n"
        out += "<text class=\"axis-label\" transform=\"translate(14 \(Markup.coordinate(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">\(Markup.escape(yLabel))</text>\n"

        // Lines.
        for s in series {
            let dash = s.dashed ? " stroke-dasharray=\"6 3\"" : ""
            for segment in s.segments {
                if segment.count == 1 {
                    out += "<circle class=\"series-point\" data-series=\"\(Markup.escape(s.name))\" cx=\"\(Markup.coordinate(px(segment[0].x)))\" cy=\"\(Markup.coordinate(py(segment[0].y)))\" r=\"3.5\" fill=\"\(Markup.escape(s.color))\"/>\n"
                    continue
                }
                let points = segment.map { "\(Markup.coordinate(px($0.x))),\(Markup.coordinate(py($0.y)))" }
                    .joined(separator: " ")
                out += "<polyline class=\"series\" data-series=\"\(Markup.escape(s.name))\" fill=\"none\" stroke=\"\(Markup.escape(s.color))\" stroke-width=\"2\" stroke-linejoin=\"round\"\(dash) points=\"\(points)\"/>\n"
            }
        }
        for m in markers where m.x.isFinite && m.y.isFinite {
            let x = px(m.x), y = py(m.y)
            let anchor = x > left + plotW * 0.7 ? "end" : "start"
            let dx = anchor == "end" ? -9.0 : 9.0
            out += "<g class=\"marker\"><circle cx=\"\(Markup.coordinate(x))\" cy=\"\(Markup.coordinate(y))\" r=\"6\" fill=\"none\" stroke=\"\(Markup.escape(m.color))\" stroke-width=\"2\"/>"
            out += "<text x=\"\(Markup.coordinate(x + dx))\" y=\"\(Markup.coordinate(y + (y < top + 20 ? 16 : -8)))\" text-anchor=\"\(anchor)\" fill=\"\(Markup.escape(m.color))\" font-weight=\"bold\">\(Markup.escape(m.label))</text></g>\n"
        }
        return out + "</svg>\n"
    }
}
