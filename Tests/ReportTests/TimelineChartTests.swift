import Report
import XCTest

final class TimelineChartTests: XCTestCase {
    func testOneLanePerRunAndOneSymbolPerEvent() {
        let chart = TimelineChart(title: "Workers", lanes: [
            TimelineChart.Lane(name: "run-a", events: [
                .init(seconds: 0.1, kind: .joined, label: "worker 1 (w0) joined"),
                .init(seconds: 5, kind: .epoch, label: "epoch 1"),
                .init(seconds: 7, kind: .lost, label: "worker 1 (w0) <declared dead>"),
                .init(seconds: 9, kind: .rejoined, label: "worker 3 (w0) rejoined"),
            ], endSeconds: 12),
            TimelineChart.Lane(name: "run-b", events: [.init(seconds: .nan, kind: .joined, label: "x")], endSeconds: 3),
        ])
        let svg = chart.svg()
        XCTAssertEqual(svg.components(separatedBy: "<g class=\"lane\"").count - 1, 2)
        for kind in ["joined", "epoch", "lost", "rejoined"] {
            XCTAssertEqual(svg.components(separatedBy: "<g class=\"event \(kind)\"").count - 1, 1, kind)
        }
        XCTAssertTrue(svg.contains("<title>worker 1 (w0) &lt;declared dead&gt;</title>"))
        XCTAssertTrue(svg.contains(">worker rejoined</text>"), "legend")
        XCTAssertTrue(svg.contains(">10</text>"), "a tick at 10 s")
    }

    func testNoLanes() {
        let svg = TimelineChart(title: "Workers", lanes: []).svg()
        XCTAssertTrue(svg.contains("no events yet"))
    }
}
