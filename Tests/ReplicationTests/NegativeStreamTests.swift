import Kernels
import Replication
import XCTest

final class NegativeStreamTests: XCTestCase {
    private func draws(seed: UInt64, epoch: UInt32, minibatch: UInt32, count: Int = 16) -> [UInt64] {
        var random = negativeStream(seed: seed, epoch: epoch, minibatch: minibatch)
        return (0 ..< count).map { _ in random.next() }
    }

    func testSameSeedEpochAndMinibatchGiveTheSameStream() {
        XCTAssertEqual(draws(seed: 42, epoch: 3, minibatch: 17), draws(seed: 42, epoch: 3, minibatch: 17))
        // And so the same negatives from the same sampler.
        let sampler = NegativeSampler.popularity(counts: [1, 5, 0, 3, 8], alpha: 0.75)
        var a = negativeStream(seed: 42, epoch: 3, minibatch: 17), b = negativeStream(seed: 42, epoch: 3, minibatch: 17)
        XCTAssertEqual(sampler.sample(count: 64, random: &a), sampler.sample(count: 64, random: &b))
    }

    func testAnyChangedInputGivesAnotherStream() {
        let base = draws(seed: 42, epoch: 3, minibatch: 17)
        XCTAssertNotEqual(draws(seed: 42, epoch: 3, minibatch: 18), base, "next minibatch")
        XCTAssertNotEqual(draws(seed: 42, epoch: 4, minibatch: 17), base, "next epoch")
        XCTAssertNotEqual(draws(seed: 43, epoch: 3, minibatch: 17), base, "other seed")
        XCTAssertNotEqual(draws(seed: 42, epoch: 17, minibatch: 3), base, "epoch and minibatch are not interchangeable")
        // Minibatches of one epoch share no prefix.
        let firsts = Set((0 ..< 256 as Range<UInt32>).map { draws(seed: 42, epoch: 0, minibatch: $0, count: 1)[0] })
        XCTAssertEqual(firsts.count, 256)
    }

    /// The stream is its own purpose: it differs from the plain seeded stream of the same numbers.
    func testDiffersFromOtherStreamsOfTheSameSeed() {
        var plain = SeededRandom(seed: 42, stream: 3, 17)
        XCTAssertNotEqual((0 ..< 16).map { _ in plain.next() }, draws(seed: 42, epoch: 3, minibatch: 17))
    }
}
