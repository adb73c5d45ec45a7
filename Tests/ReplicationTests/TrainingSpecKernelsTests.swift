import Kernels
import Replication
import RunSettings
import Wire
import XCTest

final class TrainingSpecKernelsTests: XCTestCase {
    private func spec(_ loss: LossSettings, sampler: SamplerKind = .uniform, popularity: [Float] = [1, 2, 3, 4])
        -> TrainingSpec {
        TrainingSpec(users: 3, items: 4, dim: 2, loss: loss, sampler: sampler, popularityAlpha: 0.5,
                     popularity: popularity, seed: 99, verifyReplicas: true)
    }

    /// Every loss, similarity and flag combination is the spec's loss as given, and survives the wire.
    func testLossSettingsRoundTrip() throws {
        for kind in LossKind.allCases {
            for similarity in [Similarity.cosine, .dot] {
                for flags in 0 ..< 8 {
                    let loss = LossSettings(kind: kind, similarity: similarity, temperature: 0.07 + Float(flags),
                                            negatives: 3 + flags, removeAccidentalHits: flags & 1 != 0,
                                            logQCorrection: flags & 2 != 0, mixInBatch: flags & 4 != 0,
                                            positiveTemperature: kind == .bpr || kind == .ccl || flags < 4 ? nil : 0.3,
                                            cclMargin: kind == .ccl ? 0.5 + Float(flags) / 20 : 0.9,
                                            cclNegativeWeight: kind == .ccl ? 10 + Float(flags) : 150)
                    let s = spec(loss)
                    XCTAssertEqual(s.loss, loss, "\(kind) \(similarity) flags \(flags)")
                    let envelope = Envelope(sender: 0, sequence: 1,
                                            message: .welcome(workerId: 1, runId: 2, currentVersion: 3, spec: s))
                    let (header, payload) = WireCodec.encode(envelope)
                    guard case .welcome(_, _, _, let decoded) = try WireCodec.decode(header: header, payload: payload).message
                    else { return XCTFail("not a WELCOME") }
                    XCTAssertEqual(decoded.loss, loss, "over the wire: \(kind) \(similarity) flags \(flags)")
                }
            }
        }
    }

    /// The users' lists travel with `maskSeenItems`, over the wire too, and come back as the same `SeenItems`.
    func testSeenItemsTravelWithTheirFlag() throws {
        let seen = SeenItems(users: [0, 2, 2, 0], items: [3, 1, 0, 3], userCount: 3, itemCount: 4)
        let masked = TrainingSpec(users: 3, items: 4, dim: 2, loss: LossSettings(maskSeenItems: true), sampler: .uniform,
                                  popularityAlpha: 0.5, popularity: [], seed: 1, verifyReplicas: false, seenItems: seen)
        XCTAssertTrue(masked.maskSeenItems)
        XCTAssertEqual(masked.seenCounts, [1, 0, 2])
        XCTAssertEqual(masked.seenItems, [3, 0, 1])
        XCTAssertEqual(masked.loss.maskSeenItems, true)
        let (header, payload) = WireCodec.encode(Envelope(sender: 0, sequence: 1,
                                                          message: .welcome(workerId: 1, runId: 2, currentVersion: 3, spec: masked)))
        guard case .welcome(_, _, _, let decoded) = try WireCodec.decode(header: header, payload: payload).message
        else { return XCTFail("not a WELCOME") }
        XCTAssertEqual(decoded, masked)
        XCTAssertEqual(try decoded.seenItemLists(), seen)

        // Off: no lists are sent even when given.
        let plain = TrainingSpec(users: 3, items: 4, dim: 2, loss: LossSettings(), sampler: .uniform, popularityAlpha: 0.5,
                                 popularity: [], seed: 1, verifyReplicas: false, seenItems: seen)
        XCTAssertFalse(plain.maskSeenItems)
        XCTAssertEqual(plain.seenItems, [])
        XCTAssertNil(try plain.seenItemLists())

        // Lists that are not ascending are refused when the worker reads them.
        var unsorted = masked
        unsorted.seenItems = [3, 1, 0]
        XCTAssertThrowsError(try unsorted.seenItemLists()) {
            XCTAssertEqual($0 as? SeenItems.ValidationError, .notAscending(user: 2, item: 0, after: 1))
        }
    }

    func testOtherFieldsAreCopied() {
        let s = spec(LossSettings(), sampler: .popularity)
        XCTAssertEqual([s.users, s.items, s.dim], [3, 4, 2])
        XCTAssertEqual(s.sampler, .popularity)
        XCTAssertEqual(s.popularityAlpha, 0.5)
        XCTAssertEqual(s.seed, 99)
        XCTAssertTrue(s.verifyReplicas)
        XCTAssertEqual(s.popularity, [1, 2, 3, 4])
        XCTAssertEqual(spec(LossSettings(), sampler: .uniform).popularity, [], "the uniform sampler sends no counts")
    }

    func testSamplers() throws {
        let uniform = try XCTUnwrap(spec(LossSettings(), sampler: .uniform).negativeSampler)
        XCTAssertEqual(uniform.itemCount, 4)
        XCTAssertEqual(uniform.logProbability(0), uniform.logProbability(3))

        let popular = try XCTUnwrap(spec(LossSettings(), sampler: .popularity, popularity: [1, 4, 9, 16]).negativeSampler)
        // p_i ∝ counts^0.5 = 1, 2, 3, 4 (sum 10).
        for (i, p) in [0.1, 0.2, 0.3, 0.4].enumerated() {
            XCTAssertEqual(Double(popular.logProbability(UInt32(i))), log(p), accuracy: 1e-6)
        }
    }

    /// The popularity sampler cannot be built without one count per item.
    func testPopularitySamplerNeedsCounts() {
        var s = spec(LossSettings(), sampler: .popularity)
        s.popularity = []
        XCTAssertNil(s.negativeSampler)
        s.popularity = [1, 2, 3]
        XCTAssertNil(s.negativeSampler, "3 counts for 4 items")
    }

    /// A spec the sampler cannot use gives nil (the worker refuses it with a message) instead of tripping the
    /// sampler's preconditions and crashing the worker.
    func testUnusablePopularitySpecsGiveNil() {
        let base = spec(LossSettings(), sampler: .popularity)
        XCTAssertNotNil(base.negativeSampler)
        for (alpha, counts, why) in [(Float(-1), [Float](repeating: 1, count: 4), "negative exponent"),
                                     (.infinity, [1, 2, 3, 4], "infinite exponent"),
                                     (.nan, [1, 2, 3, 4], "NaN exponent"),
                                     (0.5, [1, -2, 3, 4], "negative count"),
                                     (0.5, [1, .nan, 3, 4], "NaN count"),
                                     (0.5, [1, .infinity, 3, 4], "infinite count"),
                                     (0.5, [0, 0, 0, 0], "every weight 0")] {
            var s = base
            s.popularityAlpha = alpha
            s.popularity = counts
            XCTAssertNil(s.negativeSampler, why)
        }
        var zeroAlpha = base
        zeroAlpha.popularityAlpha = 0
        zeroAlpha.popularity = [0, 0, 0, 0]
        XCTAssertNotNil(zeroAlpha.negativeSampler, "alpha 0 weighs every item 1")
        var noItems = spec(LossSettings(), sampler: .uniform)
        noItems.items = 0
        XCTAssertNil(noItems.negativeSampler, "no items to draw")
    }

    /// A spec carries its loss as the wire does: τ⁺ only for the softmax losses, the CCL terms only for CCL, so
    /// that what a worker decodes equals what the coordinator sent.
    func testTheSpecCarriesItsLossInItsCanonicalForm() {
        var s = spec(LossSettings(kind: .bpr, positiveTemperature: 0.2, cclMargin: 0.3, cclNegativeWeight: 7))
        XCTAssertNil(s.loss.positiveTemperature)
        XCTAssertEqual(s.loss.cclMargin, RunDefaults.cclMargin)
        XCTAssertEqual(s.loss.cclNegativeWeight, RunDefaults.cclNegativeWeight)
        s.loss = LossSettings(kind: .ccl, positiveTemperature: 0.2, cclMargin: 0.3, cclNegativeWeight: 7)
        XCTAssertNil(s.loss.positiveTemperature, "also when set afterwards")
        XCTAssertEqual(s.loss.cclMargin, 0.3)
        XCTAssertEqual(s.loss.cclNegativeWeight, 7)
        s.loss = LossSettings(kind: .inBatchInfoNCE, positiveTemperature: 0.2)
        XCTAssertEqual(s.loss.positiveTemperature, 0.2)
    }
}
