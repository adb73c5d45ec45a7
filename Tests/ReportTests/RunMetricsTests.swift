import Foundation
import Report
import XCTest

/// metrics.jsonl texts as the trainer writes them.
enum SampleMetrics {
    static let start = #"{"event":"start","dataset":"synthetic","users":600,"items":400,"train":10800,"epochs":3,"dim":32,"batch_size":768,"minibatch_size":384,"negatives":256,"temperature":0.1,"loss":"bankInfoNCE","similarity":"cosine","live_negatives":false,"optimizer":"adam","lr":0.01,"weight_decay":0,"lr_schedule":"constant","seed":42,"workers":2,"validation":1200,"patience":0,"preset":null,"run_seconds":0}"#

    static func epoch(_ e: Int, recall: Double, val: Double? = nil, seconds: Double) -> String {
        var fields = #""event":"epoch","epoch":\#(e),"loss":\#(7.0 - Double(e)),"examples":10800,"train_seconds":0.5,"examples_per_second":21600,"audit_exact":true,"audit_count":10800,"evaluation_seconds":0.05,"elapsed_seconds":\#(seconds),"recall@20":\#(recall),"ndcg@20":\#(recall / 2),"run_seconds":\#(seconds)"#
        if let val { fields += #","val_recall@20":\#(val),"val_ndcg@20":\#(val / 2)"# }
        return "{" + fields + "}"
    }

    static let joined = [#"{"event":"member_joined","worker":1,"name":"w0","run_seconds":0.1}"#,
                         #"{"event":"member_joined","worker":2,"name":"w1","run_seconds":0.12}"#]
    static let lost = #"{"event":"member_lost","worker":1,"reason":"silent for 3.0 s","reassigned":2,"step":17,"run_seconds":2.5}"#
    static let rejoined = #"{"event":"member_joined","worker":3,"name":"w0","run_seconds":4}"#
    static let end = #"{"event":"end","wall_seconds":6.5,"steps":45,"replica_mismatches":0,"resends":1,"members_lost":1,"seconds_to_first_step":0.2,"wire_bytes_sent":16165466,"wire_bytes_received":7443810,"wire_messages_sent":138,"wire_messages_received":130,"sparse_minimum_bytes_sent":15449016,"sparse_minimum_bytes_received":7432524,"run_seconds":6.6}"#
    static let selection = #"{"event":"selection","epochs":3,"stopped_early":false,"validation_chosen_epoch":2,"test_chosen_epoch":3,"run_seconds":6.0}"#

    static var finished: String {
        ([start] + joined + [epoch(1, recall: 0.1, val: 0.12, seconds: 1.5), lost, epoch(2, recall: 0.2, val: 0.25, seconds: 3),
                             rejoined, epoch(3, recall: 0.22, val: 0.24, seconds: 5), selection, end]).joined(separator: "\n") + "\n"
    }

    static func write(_ text: String, name: String = "run") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString.prefix(8))/\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("metrics.jsonl").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

final class RunMetricsTests: XCTestCase {
    func testReadsEpochsEventsAndTheEnd() throws {
        let run = try RunMetrics(path: try SampleMetrics.write(SampleMetrics.finished, name: "my-run"))
        XCTAssertEqual(run.name, "my-run")
        XCTAssertEqual(run.epochs.map(\.epoch), [1, 2, 3])
        XCTAssertEqual(run.epochs.map { $0.values["recall@20"] }, [0.1, 0.2, 0.22])
        XCTAssertEqual(run.ks, [20])
        XCTAssertTrue(run.hasValidation)
        XCTAssertEqual(run.validationChosenEpoch, 2, "from the selection event")
        XCTAssertEqual(run.events.map(\.kind), [.joined, .joined, .lost, .rejoined])
        XCTAssertEqual(run.events[2].name, "w0", "a lost worker's name comes from its join")
        XCTAssertEqual(run.events[2].seconds, 2.5)
        XCTAssertEqual(run.wallSeconds, 6.5)
        XCTAssertEqual(run.startString("dataset"), "synthetic")
        // 10800 examples in steps of 768: 15 steps (the last one short) of 0.5 s.
        XCTAssertEqual(run.stepSeconds(run.epochs[0]), 0.5 / 15, accuracy: 1e-12)
        XCTAssertEqual(run.epochs[0].values["audit_exact"], nil, "booleans are not figures")
    }

    func testWhileRunningTheChosenEpochIsTheBestValidationScoreSoFar() throws {
        let text = [SampleMetrics.start, SampleMetrics.epoch(1, recall: 0.1, val: 0.3, seconds: 1),
                    SampleMetrics.epoch(2, recall: 0.2, val: 0.3, seconds: 2),
                    SampleMetrics.epoch(3, recall: 0.2, val: 0.29, seconds: 3)].joined(separator: "\n") + "\n"
        let run = try RunMetrics(path: try SampleMetrics.write(text))
        XCTAssertEqual(run.validationChosenEpoch, 1, "ties go to the earlier epoch")
        XCTAssertNil(run.end)
    }

    func testAResumedRunContinuesOnTheTimeAxis() throws {
        let stopped = #"{"event":"stopped","reason":"SIGTERM","step":20,"epoch":2,"checkpoint":true,"run_seconds":11}"#
        let text = [SampleMetrics.start, SampleMetrics.epoch(1, recall: 0.1, seconds: 10), stopped,
                    SampleMetrics.start, SampleMetrics.epoch(2, recall: 0.2, seconds: 4)].joined(separator: "\n") + "\n"
        let run = try RunMetrics(path: try SampleMetrics.write(text))
        XCTAssertEqual(run.resumptions, 1)
        XCTAssertNil(run.stopped, "running again after the restart")
        XCTAssertTrue(ReportPage(runs: [run]).html().contains("status-running"))
        XCTAssertEqual(run.epochs.map(\.seconds), [10, 15])
        XCTAssertEqual(run.events.map(\.kind), [.stopped, .resumed])
    }

    func testErrorsNameTheFileAndTheLine() throws {
        let missing = "/nonexistent-\(UUID())/metrics.jsonl"
        XCTAssertThrowsError(try RunMetrics(path: missing)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(missing): no such file"), "\(error)")
        }
        let garbled = try SampleMetrics.write(SampleMetrics.start + "\n{\"event\": \"epoch\", oops\n" + SampleMetrics.end + "\n")
        XCTAssertThrowsError(try RunMetrics(path: garbled)) { error in
            XCTAssertEqual("\(error)", "\(garbled):2: not a JSON object")
        }
        let noEvent = try SampleMetrics.write(SampleMetrics.start + "\n{\"epoch\": 1}\n")
        XCTAssertThrowsError(try RunMetrics(path: noEvent)) { error in
            XCTAssertEqual("\(error)", "\(noEvent):2: no \"event\" field")
        }
        let beforeStart = try SampleMetrics.write(SampleMetrics.epoch(1, recall: 0.1, seconds: 1) + "\n")
        XCTAssertThrowsError(try RunMetrics(path: beforeStart)) { error in
            XCTAssertEqual("\(error)", "\(beforeStart):1: a epoch event before the run's start event")
        }
        let empty = try SampleMetrics.write("")
        XCTAssertThrowsError(try RunMetrics(path: empty)) { error in
            XCTAssertTrue("\(error)".contains("no start event"), "\(error)")
        }
        let badEpoch = try SampleMetrics.write(SampleMetrics.start + "\n{\"event\":\"epoch\",\"epoch\":0}\n")
        XCTAssertThrowsError(try RunMetrics(path: badEpoch)) { error in
            XCTAssertEqual("\(error)", "\(badEpoch):2: an epoch event without a positive \"epoch\"")
        }
    }

    func testAStoppedRunSaysWhy() throws {
        let text = [SampleMetrics.start, SampleMetrics.epoch(1, recall: 0.1, seconds: 1),
                    #"{"event":"stopped","reason":"non_finite_parameters","detail":"step 9 made a parameter non-finite","step":9,"checkpoint":null,"rejected":{},"run_seconds":1.5}"#]
            .joined(separator: "\n") + "\n"
        let run = try RunMetrics(path: try SampleMetrics.write(text))
        XCTAssertEqual(run.stopped, "step 9 made a parameter non-finite")
        XCTAssertEqual(run.events.map(\.kind), [.stopped])
        let html = ReportPage(runs: [run]).html()
        XCTAssertTrue(html.contains("status-stopped\">stopped</span>"))
        XCTAssertTrue(html.contains("step 9 made a parameter non-finite"))
    }

    func testALastLineBeingWrittenIsLeftOut() throws {
        let text = SampleMetrics.start + "\n" + SampleMetrics.epoch(1, recall: 0.1, seconds: 1) + "\n{\"event\":\"ep"
        let run = try RunMetrics(path: try SampleMetrics.write(text))
        XCTAssertEqual(run.epochs.count, 1)
    }
}
