@testable import Coordinator
import Dataset
import XCTest

final class ModelSelectionTests: XCTestCase {
    func metrics(_ recall: Double, ndcg: Double = 0) -> [RankingMetrics] {
        [RankingMetrics(k: 20, recall: recall, ndcg: ndcg, users: 10)]
    }

    func testValidationAndTestChoicesAreKeptApart() {
        var s = ModelSelection()
        XCTAssertTrue(s.record(epoch: 1, test: metrics(0.10), validation: metrics(0.20)))
        XCTAssertTrue(s.record(epoch: 2, test: metrics(0.12), validation: metrics(0.25)))
        XCTAssertFalse(s.record(epoch: 3, test: metrics(0.15), validation: metrics(0.24)))
        XCTAssertEqual(s.byValidation?.epoch, 2)
        XCTAssertEqual(s.byValidation?.test, metrics(0.12), "the test figures of the validation-chosen epoch")
        XCTAssertEqual(s.byTest?.epoch, 3)
        XCTAssertEqual(s.epochsWithoutImprovement, 1)
    }

    func testTiesKeepTheEarlierEpoch() {
        var s = ModelSelection()
        s.record(epoch: 1, test: metrics(0.1), validation: metrics(0.3))
        XCTAssertFalse(s.record(epoch: 2, test: metrics(0.1), validation: metrics(0.3)))
        XCTAssertEqual(s.byValidation?.epoch, 1)
        XCTAssertEqual(s.byTest?.epoch, 1)
    }

    func testStopsAfterPatienceEpochsWithoutImprovement() {
        var s = ModelSelection(patience: 2)
        s.record(epoch: 1, test: metrics(0.1), validation: metrics(0.30))
        XCTAssertFalse(s.shouldStop)
        s.record(epoch: 2, test: metrics(0.1), validation: metrics(0.29))
        XCTAssertFalse(s.shouldStop)
        s.record(epoch: 3, test: metrics(0.1), validation: metrics(0.31))
        XCTAssertFalse(s.shouldStop, "an improvement resets the count")
        s.record(epoch: 4, test: metrics(0.1), validation: metrics(0.30))
        s.record(epoch: 5, test: metrics(0.1), validation: metrics(0.30))
        XCTAssertTrue(s.shouldStop)
        XCTAssertEqual(s.byValidation?.epoch, 3)
    }

    func testWithoutValidationOrPatienceItNeverStops() {
        var noSplit = ModelSelection(patience: 1)
        var noPatience = ModelSelection()
        for epoch in 1 ... 5 {
            noSplit.record(epoch: epoch, test: metrics(0.2 - Double(epoch) / 100), validation: [])
            noPatience.record(epoch: epoch, test: metrics(0.1), validation: metrics(0.5 - Double(epoch) / 100))
        }
        XCTAssertFalse(noSplit.shouldStop)
        XCTAssertNil(noSplit.byValidation)
        XCTAssertEqual(noSplit.byTest?.epoch, 1)
        XCTAssertFalse(noPatience.shouldStop)
        XCTAssertEqual(noPatience.byValidation?.epoch, 1)
    }

    func testSelectionLinesSayWhichRuleChose() {
        var s = ModelSelection()
        s.record(epoch: 1, test: metrics(0.1, ndcg: 0.05), validation: metrics(0.3))
        s.record(epoch: 2, test: metrics(0.2, ndcg: 0.07), validation: metrics(0.2))
        let lines = CoordinatorServer.selectionLines(s)
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].contains("chosen by validation (epoch 1)") && lines[0].contains("Recall@20 0.1000"), lines[0])
        XCTAssertTrue(lines[1].contains("best test epoch (epoch 2, chosen on the test set)") && lines[1].contains("NDCG@20 0.0700"), lines[1])
    }
}
