import Report
import XCTest

final class LineChartTests: XCTestCase {
    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// The `points` attributes of the polylines, each split into its points.
    func polylines(_ svg: String) -> [[String]] {
        svg.components(separatedBy: "<polyline").dropFirst().map { part in
            let points = part.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0]
            return points.split(separator: " ").map(String.init)
        }
    }

    func testOnePolylinePerSeriesWithOnePointPerValue() {
        var chart = LineChart(title: "Recall@20", xLabel: "epoch", yLabel: "Recall@20", series: [
            ChartSeries(name: "test", points: [(1, 0.1), (2, 0.15), (3, 0.18)], color: "#0072B2"),
            ChartSeries(name: "validation", points: [(1, 0.12), (2, 0.16), (3, 0.17)], color: "#D55E00", dashed: true),
        ])
        chart.markers = [ChartMarker(x: 3, y: 0.18, label: "chosen: epoch 3", color: "#0072B2")]
        chart.minimumXStep = 1
        let svg = chart.svg()
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        XCTAssertTrue(svg.contains("<title>Recall@20</title>"))
        XCTAssertEqual(polylines(svg).map(\.count), [3, 3])
        XCTAssertEqual(count("stroke-dasharray", in: svg), 2, "the dashed series and its legend entry")
        XCTAssertEqual(count("class=\"legend-entry\"", in: svg), 2)
        XCTAssertEqual(count("class=\"marker\"", in: svg), 1)
        XCTAssertTrue(svg.contains(">chosen: epoch 3</text>"))
        // Epoch ticks 1, 2, 3 only.
        let xTicks = svg.components(separatedBy: "class=\"axis x-axis\"")[1].components(separatedBy: "</g>")[0]
        XCTAssertEqual(count("class=\"tick\"", in: xTicks), 3)
        for label in [">1</text>", ">2</text>", ">3</text>"] { XCTAssertTrue(xTicks.contains(label)) }
    }

    func testPointsAreScaledIntoThePlotArea() {
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y",
                              series: [ChartSeries(name: "", points: [(0, 0), (10, 100)], color: "#000")])
        let points = polylines(chart.svg())[0].map { $0.split(separator: ",").map { Double($0)! } }
        // Left/top margins 62/34, right/bottom 18/46 of 640 × 300; the scale runs exactly 0…10 and 0…100.
        XCTAssertEqual(points[0], [62, 254])
        XCTAssertEqual(points[1], [622, 34])
    }

    func testNaNBreaksTheLineAndALonePointIsADot() {
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [
            ChartSeries(name: "a", points: [(1, 1), (2, 2), (3, .nan), (4, 3), (5, .infinity)], color: "#000"),
        ])
        let svg = chart.svg()
        XCTAssertEqual(polylines(svg).map(\.count), [2])
        XCTAssertEqual(count("class=\"series-point\"", in: svg), 1)
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
    }

    func testEmptySeriesSaySoInsteadOfDrawingAxes() {
        for series in [[], [ChartSeries(name: "a", points: [], color: "#000")],
                       [ChartSeries(name: "a", points: [(1, .nan)], color: "#000")]] {
            var chart = LineChart(title: "Loss", xLabel: "epoch", yLabel: "loss", series: series)
            chart.emptyText = "no epoch yet"
            let svg = chart.svg()
            XCTAssertTrue(svg.contains("class=\"empty\""))
            XCTAssertTrue(svg.contains(">no epoch yet</text>"))
            XCTAssertFalse(svg.contains("<polyline"))
            XCTAssertFalse(svg.contains("class=\"tick\""))
        }
    }

    func testOnePointGetsARangeAroundIt() {
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y",
                              series: [ChartSeries(name: "a", points: [(1, 0.25)], color: "#000")])
        let svg = chart.svg()
        XCTAssertEqual(count("class=\"series-point\"", in: svg), 1)
        XCTAssertGreaterThan(count("class=\"tick\"", in: svg), 2)
    }

    func testAllTextIsEscaped() {
        var chart = LineChart(title: "<b>t</b>", xLabel: "a & b", yLabel: "\"y\"", series: [
            ChartSeries(name: "run <1>", points: [(1, 1), (2, 2)], color: "#000\" onload=\"x"),
        ])
        chart.markers = [ChartMarker(x: 1, y: 1, label: "<m>", color: "red")]
        let svg = chart.svg()
        XCTAssertFalse(svg.contains("<b>"))
        XCTAssertFalse(svg.contains("<1>"))
        XCTAssertFalse(svg.contains("<m>"))
        XCTAssertFalse(svg.contains("onload=\"x"))
        XCTAssertTrue(svg.contains("&lt;b&gt;t&lt;/b&gt;"))
        XCTAssertTrue(svg.contains("a &amp; b"))
        XCTAssertTrue(svg.contains("run &lt;1&gt;"))
    }

    func testTheLegendWrapsIntoRowsThatFit() {
        let series = (0 ..< 8).map { ChartSeries(name: "a rather long run name \($0)", points: [(1, 1), (2, 2)], color: Palette.color($0)) }
        let chart = LineChart(title: "t", xLabel: "x", yLabel: "y", series: series)
        let svg = chart.svg()
        XCTAssertEqual(count("class=\"legend-entry\"", in: svg), 8)
        // Every legend text starts inside the chart.
        for part in svg.components(separatedBy: "<g class=\"legend-entry\">").dropFirst() {
            let x = Double(part.components(separatedBy: "<text x=\"")[1].components(separatedBy: "\"")[0])!
            XCTAssertLessThan(x + 6.6 * 25, 640)
        }
    }
}
