import Foundation
import Report
import XCTest

final class ReportPageTests: XCTestCase {
    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    func testAFinishedRunHasEveryChartAndSection() throws {
        let run = try RunMetrics(path: try SampleMetrics.write(SampleMetrics.finished))
        let html = ReportPage(runs: [run]).html()
        for title in ["Training loss", "Recall@20 per epoch", "NDCG@20 per epoch", "Throughput", "Time per step",
                      "Workers and epochs over time"] {
            XCTAssertTrue(html.contains("<title>\(title)"), title)
        }
        // Loss, throughput and step time: one line of 3 epochs; Recall and NDCG: test and validation.
        let lines = html.components(separatedBy: "<polyline").dropFirst().map {
            $0.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0].split(separator: " ").count
        }
        XCTAssertEqual(lines, [3, 3, 3, 3, 3, 3, 3])
        XCTAssertTrue(html.contains("chosen on validation: epoch 2"))
        XCTAssertEqual(count("<g class=\"event lost\"", in: html), 1)
        XCTAssertEqual(count("<g class=\"event rejoined\"", in: html), 1)
        XCTAssertTrue(html.contains("1.05×"), "sent traffic against its sparse minimum")
        XCTAssertTrue(html.contains("<code>step_wait_seconds</code>"), "says what it does not know")
        XCTAssertTrue(html.contains("finished"))
    }

    func testThePageFetchesNothingAndRunsNoScript() throws {
        let run = try RunMetrics(path: try SampleMetrics.write(SampleMetrics.finished))
        let html = ReportPage(runs: [run]).html().lowercased()
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("src="))
        XCTAssertFalse(html.contains("<link"))
        XCTAssertFalse(html.contains("url("))
        XCTAssertFalse(html.contains("@import"))
        XCTAssertEqual(count("http", in: html), count("xmlns=\"http://www.w3.org/2000/svg\"", in: html))
    }

    func testRunTextIsEscaped() throws {
        let start = SampleMetrics.start.replacingOccurrences(of: "\"synthetic\"", with: "\"<img src=x onerror=alert(1)>\"")
        let run = try RunMetrics(path: try SampleMetrics.write(start + "\n"))
        let html = ReportPage(runs: [run]).html()
        XCTAssertFalse(html.contains("<img"))
        XCTAssertTrue(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        XCTAssertTrue(html.contains("running"))
        XCTAssertTrue(html.contains("has not ended yet"))
    }

    func testSeveralRunsAreOverlaidWithALegend() throws {
        let a = try RunMetrics(path: try SampleMetrics.write(SampleMetrics.finished, name: "alpha"))
        let b = try RunMetrics(path: try SampleMetrics.write(
            [SampleMetrics.start, SampleMetrics.epoch(1, recall: 0.3, seconds: 1)].joined(separator: "\n") + "\n", name: "beta"))
        let html = ReportPage(runs: [a, b]).html()
        XCTAssertTrue(html.contains("data-series=\"alpha test\""))
        XCTAssertTrue(html.contains("data-series=\"beta test\""))
        XCTAssertTrue(html.contains(">alpha validation</text>"), "legend")
        XCTAssertEqual(count("<g class=\"lane\"", in: html), 2)
        XCTAssertTrue(html.contains("<th>alpha</th><th>beta</th>"), "settings side by side")
    }

    func testAKnownDatasetGetsItsPublishedFigures() throws {
        let start = SampleMetrics.start.replacingOccurrences(of: "\"users\":600,\"items\":400", with: "\"users\":29858,\"items\":40981")
        let text = [start, SampleMetrics.epoch(1, recall: 0.17, seconds: 50), SampleMetrics.epoch(2, recall: 0.18, seconds: 100)]
            .joined(separator: "\n") + "\n"
        let html = ReportPage(runs: [try RunMetrics(path: try SampleMetrics.write(text))]).html()
        XCTAssertTrue(html.contains("Gowalla (LightGCN split): published figures"))
        XCTAssertTrue(html.contains("LightGCN, 3 layers"))
        XCTAssertTrue(html.contains("0.1830"))
        XCTAssertTrue(html.contains("shared/datasets/README.md"), "names its source")
        XCTAssertTrue(html.contains("best test epoch (2), chosen on the test set"))
        XCTAssertNotNil(PublishedFigures.matching(users: 6022, items: 3043))
        XCTAssertNotNil(PublishedFigures.matching(users: 943, items: 1682))
        XCTAssertNil(PublishedFigures.matching(users: 600, items: 400))
        let synthetic = ReportPage(runs: [try RunMetrics(path: try SampleMetrics.write(SampleMetrics.finished))]).html()
        XCTAssertFalse(synthetic.contains("published figures"))
    }

    func testThePresetAndItsReasonAreShown() throws {
        let start = SampleMetrics.start.replacingOccurrences(
            of: "\"preset\":null",
            with: #""preset":{"name":"quality","reason":"τ from the density ρ = 0.00066","chose":{"temperature":0.1}}"#)
        let html = ReportPage(runs: [try RunMetrics(path: try SampleMetrics.write(start + "\n"))]).html()
        XCTAssertTrue(html.contains("preset <b>quality</b>: τ from the density ρ = 0.00066 (chose temperature 0.1)"))
    }

    func testWriteReplacesThePageAtomically() throws {
        let metrics = try SampleMetrics.write(SampleMetrics.finished)
        let page = (metrics as NSString).deletingLastPathComponent + "/report.html"
        try ReportPage(runs: [try RunMetrics(path: metrics)]).write(to: page)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (page as NSString).deletingLastPathComponent)
            .filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
        XCTAssertThrowsError(try ReportPage(runs: [try RunMetrics(path: metrics)]).write(to: "/nonexistent-dir/report.html"))
    }
}
