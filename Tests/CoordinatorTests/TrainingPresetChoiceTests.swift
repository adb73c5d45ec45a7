import Coordinator
import XCTest

final class TrainingPresetChoiceTests: XCTestCase {
    func testTheQualityPresetSaysWhatTheDensityChose() {
        let gowalla = DataShape(users: 29_858, items: 40_981, pairs: 810_128)
        let choice = TrainingPreset.quality.choice(data: gowalla)
        XCTAssertEqual(choice.name, "quality")
        XCTAssertEqual(choice.chose["temperature"]!, 0.1, accuracy: 1e-6)
        XCTAssertEqual(choice.chose["positive_temperature"]!, 0.122, accuracy: 1e-6)
        XCTAssertEqual(choice.chose["weight_decay"], 0)
        XCTAssertEqual(choice.chose["negatives"], 2048)
        XCTAssertEqual(choice.chose["density"]!, gowalla.density, accuracy: 1e-12)
        XCTAssertTrue(choice.reason.contains("density ρ = 0.00066"), choice.reason)
        XCTAssertTrue(choice.reason.contains("at or below 0.001"), choice.reason)
        XCTAssertTrue(choice.reason.contains("negatives K = min(2048, 0.5 × 40981 items)"), choice.reason)

        let between = TrainingPreset.quality.choice(data: DataShape(users: 1000, items: 1000, pairs: 5000))
        XCTAssertTrue(between.reason.contains("interpolated in log density"), between.reason)
        XCTAssertGreaterThan(between.chose["temperature"]!, 0.1)
        XCTAssertLessThan(between.chose["temperature"]!, 0.17)
        XCTAssertEqual(between.chose["negatives"], 500)

        let record = TrainingPreset.quality.choice(data: gowalla).record
        XCTAssertEqual(record["name"] as? String, "quality")
        XCTAssertNotNil(record["chose"] as? [String: Double])
    }

    func testAPresetWithoutARuleGivesItsSummary() {
        let choice = TrainingPreset.bank.choice(data: DataShape(users: 10, items: 10, pairs: 10))
        XCTAssertEqual(choice.reason, TrainingPreset.bank.summary)
        XCTAssertNil(choice.chose["density"])
    }
}
