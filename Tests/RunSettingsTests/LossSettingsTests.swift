import RunSettings
import XCTest

/// The per-loss rules, written once and read by the kernels, the wire and the coordinator.
final class LossSettingsTests: XCTestCase {
    func testWhichLossesReadBankNegativesAndHowManyTheyDraw() {
        let expected: [(LossKind, Bool, mix: Bool, drawn: Int)] = [
            (.bankInfoNCE, true, false, 7), (.ccl, true, false, 7), (.inBatchInfoNCE, false, false, 0),
            (.inBatchInfoNCE, true, true, 7), (.mnr, false, true, 0), (.bpr, false, false, 5),
        ]
        for (kind, bank, mix, drawn) in expected {
            let loss = LossSettings(kind: kind, negatives: 7, mixInBatch: mix)
            XCTAssertEqual(loss.usesBankNegatives, bank, "\(kind) mix \(mix)")
            XCTAssertEqual(loss.negativesDrawn(pairs: 5), drawn, "\(kind) mix \(mix)")
        }
    }

    func testDefaultsComeFromRunDefaults() {
        let loss = LossSettings()
        XCTAssertEqual(loss.temperature, RunDefaults.temperature)
        XCTAssertEqual(loss.negatives, RunDefaults.negatives)
        XCTAssertEqual(loss.cclMargin, RunDefaults.cclMargin)
        XCTAssertEqual(loss.cclNegativeWeight, RunDefaults.cclNegativeWeight)
        XCTAssertEqual(LossSettings.defaultTemperature(for: .mnr), 1)
        XCTAssertEqual(LossSettings.defaultTemperature(for: .bankInfoNCE), RunDefaults.temperature)
    }

    func testTheCanonicalFormKeepsOnlyWhatTheLossUses() {
        let bpr = LossSettings(kind: .bpr, positiveTemperature: 0.3, cclMargin: 0.2, cclNegativeWeight: 3).canonical
        XCTAssertNil(bpr.positiveTemperature)
        XCTAssertEqual(bpr.cclMargin, RunDefaults.cclMargin)
        let ccl = LossSettings(kind: .ccl, positiveTemperature: 0.3, cclMargin: 0.2, cclNegativeWeight: 3).canonical
        XCTAssertNil(ccl.positiveTemperature)
        XCTAssertEqual(ccl.cclMargin, 0.2)
        XCTAssertEqual(ccl.cclNegativeWeight, 3)
        let softmax = LossSettings(kind: .bankInfoNCE, positiveTemperature: 0.3)
        XCTAssertEqual(softmax.canonical, softmax)
    }

    func testEffectiveSimilarityAndTemperature() {
        XCTAssertEqual(LossSettings(kind: .mnr, similarity: .cosine).effectiveSimilarity, .dot)
        XCTAssertEqual(LossSettings(kind: .ccl, similarity: .dot).effectiveSimilarity, .cosine)
        XCTAssertEqual(LossSettings(kind: .bankInfoNCE, similarity: .dot).effectiveSimilarity, .dot)
        XCTAssertEqual(LossSettings(kind: .bpr, temperature: 0.2).effectiveTemperature, 1)
        XCTAssertEqual(LossSettings(kind: .inBatchInfoNCE, temperature: 0.2).effectiveTemperature, 0.2)
    }
}
