@testable import Coordinator
import Kernels
import XCTest

final class TrainingPresetTests: XCTestCase {
    func testQualityPresetSetsWhatItNamesAndSizesNegativesToTheCatalogue() {
        var s = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &s, itemCount: 40_981)
        XCTAssertEqual(s.loss.negatives, 4096)
        XCTAssertEqual(s.batchSize, 1024)
        XCTAssertTrue(s.loss.liveNegatives)
        XCTAssertEqual(s.loss.temperature, 0.08)
        XCTAssertEqual(s.loss.positiveTemperature, 0.0976)
        XCTAssertEqual(s.validationFraction, 0.02)
        XCTAssertEqual(s.patience, 5)
        XCTAssertEqual(s.learningRateSchedule, .cosine(finalFraction: 0.01))
        XCTAssertEqual(s.epochs, 25)
        XCTAssertEqual(s.optimizer.kind, .denseAdam)
        XCTAssertTrue(s.problems().isEmpty, "\(s.problems())")
        var small = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &small, itemCount: 1000)
        XCTAssertEqual(small.loss.negatives, 500, "at most half of a small catalogue")
        var medium = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &medium, itemCount: 3043)
        XCTAssertEqual(medium.loss.negatives, 1521)
        var tiny = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &tiny, itemCount: 1)
        XCTAssertEqual(tiny.loss.negatives, 1)
    }

    func testBankPresetIsTheDefaults() {
        var s = CoordinatorSettings()
        let defaults = s
        TrainingPreset.bank.apply(to: &s, itemCount: 5000)
        XCTAssertEqual(s.loss, defaults.loss)
        XCTAssertEqual(s.optimizer, defaults.optimizer)
        XCTAssertEqual(s.epochs, defaults.epochs)
        XCTAssertEqual(s.batchSize, defaults.batchSize)
        XCTAssertEqual(s.validationFraction, 0)
    }

    func testLivePresetOnlyTurnsOnLiveNegatives() {
        var s = CoordinatorSettings()
        var expected = s.loss
        expected.liveNegatives = true
        let optimizer = s.optimizer
        TrainingPreset.live.apply(to: &s, itemCount: 5000)
        XCTAssertEqual(s.loss, expected)
        XCTAssertEqual(s.optimizer, optimizer)
    }

    func testNamesAreUniqueAndFound() {
        XCTAssertEqual(Set(TrainingPreset.all.map(\.name)).count, TrainingPreset.all.count)
        XCTAssertEqual(TrainingPreset.named("quality"), .quality)
        XCTAssertNil(TrainingPreset.named("fast"))
    }
}
