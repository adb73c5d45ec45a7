import Foundation
import Kernels
import XCTest

final class NegativeSamplerTests: XCTestCase {
    /// Pearson chi-square of observed counts against expected probabilities.
    private func chiSquare(_ draws: [UInt32], probabilities: [Double]) -> Double {
        var counts = [Double](repeating: 0, count: probabilities.count)
        for d in draws { counts[Int(d)] += 1 }
        let n = Double(draws.count)
        return zip(counts, probabilities).reduce(0) { acc, pair in
            pair.1 == 0 ? acc + (pair.0 > 0 ? .infinity : 0) : acc + pow(pair.0 - n * pair.1, 2) / (n * pair.1)
        }
    }

    func testUniformIsFlat() {
        let sampler = NegativeSampler.uniform(items: 10)
        var random = SeededRandom(seed: 1)
        let draws = sampler.sample(count: 100_000, random: &random)
        XCTAssertEqual(sampler.itemCount, 10)
        // 9 degrees of freedom: P(χ² > 30) ≈ 4e-4; the stream is seeded so the test is deterministic.
        XCTAssertLessThan(chiSquare(draws, probabilities: [Double](repeating: 0.1, count: 10)), 30)
        XCTAssertEqual(sampler.logProbability(3), Float(-log(10.0)), accuracy: 1e-6)
        // A skewed stream would fail the same statistic.
        XCTAssertGreaterThan(chiSquare(draws.map { $0 == 9 ? 0 : $0 }, probabilities: [Double](repeating: 0.1, count: 10)), 1000)
    }

    func testPopularityFrequenciesMatchProbabilities() {
        let counts: [Float] = [1, 2, 3, 0, 10, 4, 100, 7]
        let alpha: Float = 0.75
        let weights = counts.map { pow(Double($0), Double(alpha)) }
        let p = weights.map { $0 / weights.reduce(0, +) }
        let sampler = NegativeSampler.popularity(counts: counts, alpha: alpha)
        var random = SeededRandom(seed: 2)
        let draws = sampler.sample(count: 200_000, random: &random)
        XCTAssertFalse(draws.contains(3), "a zero-count item is never drawn")
        var frequency = [Double](repeating: 0, count: counts.count)
        for d in draws { frequency[Int(d)] += 1 / Double(draws.count) }
        for i in counts.indices {
            let sigma = (p[i] * (1 - p[i]) / Double(draws.count)).squareRoot()
            XCTAssertEqual(frequency[i], p[i], accuracy: 5 * sigma + 1e-9, "item \(i)")
            XCTAssertEqual(Double(sampler.logProbability(UInt32(i))), log(p[i]), accuracy: 1e-5)
        }
        XCTAssertLessThan(chiSquare(draws, probabilities: p), 30)   // 6 degrees of freedom (item 3 has p = 0)
    }

    func testLogProbabilitiesSumToOneOverManyItems() {
        var random = SeededRandom(seed: 3)
        let counts = (0 ..< 1000).map { _ in Float(random.nextInt(below: 50)) }
        let sampler = NegativeSampler.popularity(counts: counts, alpha: 0.5)
        let total = (0 ..< 1000).reduce(0.0) { $0 + exp(Double(sampler.logProbability(UInt32($1)))) }
        XCTAssertEqual(total, 1, accuracy: 1e-4)
        let uniform = NegativeSampler.uniform(items: 1000)
        XCTAssertEqual((0 ..< 1000).reduce(0.0) { $0 + exp(Double(uniform.logProbability(UInt32($1)))) }, 1, accuracy: 1e-4)
        // Alias-table draws over many items follow p as well.
        let draws = sampler.sample(count: 300_000, random: &random)
        var hits = [Double](repeating: 0, count: 1000)
        for d in draws { hits[Int(d)] += 1 }
        let p = (0 ..< 1000).map { exp(Double(sampler.logProbability(UInt32($0)))) }
        var worst = 0.0
        for i in 0 ..< 1000 where p[i] > 0 {
            worst = max(worst, abs(hits[i] - 300_000 * p[i]) / (300_000 * p[i] * (1 - p[i])).squareRoot())
        }
        XCTAssertLessThan(worst, 5, "largest deviation in standard deviations")
    }

    func testSameStreamSameNegatives() {
        let sampler = NegativeSampler.popularity(counts: [5, 1, 1, 9], alpha: 1)
        var a = SeededRandom(seed: 9, stream: 1, 2), b = SeededRandom(seed: 9, stream: 1, 2)
        var c = SeededRandom(seed: 9, stream: 1, 3)
        let x = sampler.sample(count: 64, random: &a)
        XCTAssertEqual(x, sampler.sample(count: 64, random: &b))
        XCTAssertNotEqual(x, sampler.sample(count: 64, random: &c))
    }
}
