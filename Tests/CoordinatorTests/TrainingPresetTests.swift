@testable import Coordinator
import Foundation
import Kernels
import XCTest

final class TrainingPresetTests: XCTestCase {
    /// Gowalla's shape (the LightGCN split): 29,858 users, 40,981 items, 810,128 training pairs.
    private let gowalla = DataShape(users: 29_858, items: 40_981, pairs: 810_128)
    /// ml-1m-processed: 6,022 users, 3,043 items, 796,244 training pairs.
    private let ml1m = DataShape(users: 6_022, items: 3_043, pairs: 796_244)

    private func sparseShape(items: Int) -> DataShape { DataShape(users: 1000, items: items, pairs: 100) }

    func testQualityPresetSetsWhatItNamesAndSizesNegativesToTheCatalogue() {
        var s = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &s, data: gowalla)
        XCTAssertEqual(s.loss.negatives, 2048)
        XCTAssertEqual(s.batchSize, 1024)
        XCTAssertTrue(s.loss.liveNegatives)
        XCTAssertEqual(s.loss.hardNegatives, 32, "hard negatives mined from the bank")
        XCTAssertEqual(s.loss.hardNegativePool, 2048)
        XCTAssertEqual(s.loss.hardNegativeSkip, 8)
        XCTAssertEqual(s.loss.temperature, 0.1, "Gowalla is below the sparse anchor")
        XCTAssertEqual(s.loss.positiveTemperature, 0.122)
        XCTAssertEqual(s.validationFraction, 0, "no validation split: it would take training pairs away")
        XCTAssertEqual(s.patience, 0)
        XCTAssertEqual(s.learningRateSchedule, .cosine(finalFraction: 0.01))
        XCTAssertEqual(s.epochs, 60)
        XCTAssertEqual(s.optimizer.kind, .denseAdam)
        XCTAssertEqual(s.optimizer.weightDecay, 0, "Gowalla is below the sparse anchor: no weight decay")
        XCTAssertTrue(s.problems().isEmpty, "\(s.problems())")
        var small = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &small, data: sparseShape(items: 1000))
        XCTAssertEqual(small.loss.negatives, 500, "at most half of a small catalogue")
        var medium = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &medium, data: ml1m)
        XCTAssertEqual(medium.loss.negatives, 1521)
        var tiny = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &tiny, data: sparseShape(items: 1))
        XCTAssertEqual(tiny.loss.negatives, 1)
    }

    func testQualityTemperaturesAndWeightDecayFollowTheDensity() {
        XCTAssertEqual(gowalla.density, 810_128 / (29_858 * 40_981.0), accuracy: 1e-12)
        var dense = CoordinatorSettings()
        TrainingPreset.quality.apply(to: &dense, data: ml1m)
        XCTAssertEqual(ml1m.density, 0.0434, accuracy: 1e-4)
        XCTAssertEqual(dense.loss.temperature, 0.17, "above the dense anchor: the dense settings")
        XCTAssertEqual(dense.loss.positiveTemperature!, 0.18, accuracy: 1e-6)
        XCTAssertEqual(dense.optimizer.weightDecay, 1e-4, accuracy: 1e-10)

        let rule = TrainingPreset.qualityRule
        for density in [0.0, 1e-6, 1e-3] {
            let (tau, tauPlus) = rule.temperatures(density: density)
            XCTAssertEqual(tau, 0.1, "density \(density)")
            XCTAssertEqual(tauPlus, 0.122, accuracy: 1e-6, "density \(density)")
            XCTAssertEqual(rule.weightDecay(density: density), 0, "density \(density)")
        }
        for density in [0.03, 0.5, 1.0] {
            let (tau, tauPlus) = rule.temperatures(density: density)
            XCTAssertEqual(tau, 0.17, accuracy: 1e-6, "density \(density)")
            XCTAssertEqual(tauPlus, 0.18, accuracy: 1e-6, "density \(density)")
            XCTAssertEqual(rule.weightDecay(density: density), 1e-4, accuracy: 1e-10, "density \(density)")
        }
        // Between the anchors: τ and τ⁺/τ move linearly in log ρ; halfway in log ρ is halfway in both.
        let middle = rule.temperatures(density: (0.001 * 0.03).squareRoot())
        XCTAssertEqual(middle.temperature, 0.135, accuracy: 1e-5)
        XCTAssertEqual(middle.positiveTemperature / middle.temperature, (1.22 + 0.18 / 0.17) / 2, accuracy: 1e-5)
        XCTAssertEqual(rule.weightDecay(density: (0.001 * 0.03).squareRoot()), 0.5e-4, accuracy: 1e-9)
        var previous = rule.temperatures(density: 0.001)
        var previousDecay = rule.weightDecay(density: 0.001)
        for step in 1 ... 20 {
            let density = 0.001 * pow(30, Double(step) / 20)
            let next = rule.temperatures(density: density)
            XCTAssertGreaterThan(next.temperature, previous.temperature, "τ grows with the density")
            XCTAssertLessThan(next.positiveTemperature / next.temperature,
                              previous.positiveTemperature / previous.temperature, "τ⁺/τ falls toward 1.06")
            XCTAssertGreaterThan(rule.weightDecay(density: density), previousDecay, "the decay grows with the density")
            previous = next
            previousDecay = rule.weightDecay(density: density)
        }
    }

    func testBankPresetIsTheDefaults() {
        var s = CoordinatorSettings()
        let defaults = s
        TrainingPreset.bank.apply(to: &s, data: sparseShape(items: 5000))
        XCTAssertEqual(s.loss, defaults.loss)
        XCTAssertEqual(s.optimizer, defaults.optimizer)
        XCTAssertEqual(s.epochs, defaults.epochs)
        XCTAssertEqual(s.batchSize, defaults.batchSize)
        XCTAssertEqual(s.validationFraction, 0)
        XCTAssertEqual(s.optimizer.weightDecay, 0)
    }

    func testLivePresetOnlyTurnsOnLiveNegatives() {
        var s = CoordinatorSettings()
        var expected = s.loss
        expected.liveNegatives = true
        let optimizer = s.optimizer
        TrainingPreset.live.apply(to: &s, data: sparseShape(items: 5000))
        XCTAssertEqual(s.loss, expected)
        XCTAssertEqual(s.optimizer, optimizer)
    }

    func testNamesAreUniqueAndFound() {
        XCTAssertEqual(Set(TrainingPreset.all.map(\.name)).count, TrainingPreset.all.count)
        XCTAssertEqual(TrainingPreset.named("quality"), .quality)
        XCTAssertNil(TrainingPreset.named("fast"))
    }
}
