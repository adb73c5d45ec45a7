import Kernels
import Replication
import RunSettings
import TestSupport
import Wire
import Worker
import XCTest

/// docs/PROTOCOL.md's worked example of a task's negatives, checked line by line against the worker's code, so that
/// an implementer who follows the document draws what the Swift worker draws.
final class NegativesDocumentTests: XCTestCase {
    private func example() throws -> [String: [String]] {
        labelledLines(try DocumentFile("PROTOCOL.md").codeBlock(after: "### Worked example: negatives"))
    }

    private func field(_ lines: [String: [String]], _ label: String) throws -> [String] {
        guard let values = lines[label], !values.isEmpty else { throw DocumentError("no \"\(label):\" line in the example") }
        return values
    }

    private func hex(_ text: String) throws -> UInt64 {
        guard text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) else { throw DocumentError("\(text) is not hex") }
        return value
    }

    private func numbers<T: LosslessStringConvertible>(_ values: [String], as: T.Type = T.self) throws -> [T] {
        try values.map { guard let v = T($0) else { throw DocumentError("\($0) is not a \(T.self)") }; return v }
    }

    /// The negatives (ids and ln q) the worker draws for the example's task with this sampler.
    private func negatives(seed: UInt64, epoch: UInt32, minibatch: UInt32, items: Int, sampler: SamplerKind,
                           counts: [Float], alpha: Float) throws -> (ids: [UInt32], logQ: [Float]?) {
        let loss = LossSettings(kind: .bankInfoNCE, negatives: 8, logQCorrection: true)
        let spec = TrainingSpec(users: 1, items: items, dim: 4, loss: loss, sampler: sampler, popularityAlpha: alpha,
                                popularity: counts, seed: seed, verifyReplicas: false)
        let task = MinibatchTask(epoch: epoch, minibatch: minibatch, users: [0], items: [0])
        return try TaskComputer(spec: spec).negatives(for: task)
    }

    func testTheWorkedExampleIsWhatTheWorkerDraws() throws {
        let lines = try example()
        let run: [UInt64] = try numbers(field(lines, "seed, epoch, minibatch"))
        XCTAssertEqual(run.count, 3)
        let (seed, epoch, minibatch) = (run[0], UInt32(run[1]), UInt32(run[2]))

        var stream = negativeStream(seed: seed, epoch: epoch, minibatch: minibatch)
        XCTAssertEqual(stream.state, try field(lines, "s0 s1 s2 s3").map(hex))
        XCTAssertEqual((0 ..< 3).map { _ in stream.next() }, try field(lines, "first three draw()").map(hex))

        let items: Int = try numbers(field(lines, "uniform items"))[0]
        let uniform = try negatives(seed: seed, epoch: epoch, minibatch: minibatch, items: items, sampler: .uniform,
                                    counts: [], alpha: 0)
        XCTAssertEqual(uniform.ids, try numbers(field(lines, "uniform ids")))
        let uniformLogQ: [Float] = try numbers(field(lines, "uniform ln q"))
        XCTAssertEqual(uniform.logQ, [Float](repeating: uniformLogQ[0], count: uniform.ids.count))

        let counts: [Float] = try numbers(field(lines, "popularity counts"))
        let alpha: Float = try numbers(field(lines, "popularity alpha"))[0]
        let table = NegativeSampler.popularity(counts: counts, alpha: alpha)
        let parts = Dictionary(uniqueKeysWithValues: Mirror(reflecting: table).children.compactMap { c in c.label.map { ($0, c.value) } })
        XCTAssertEqual(parts["acceptance"] as? [Double], try numbers(field(lines, "acceptance")))
        XCTAssertEqual(parts["alias"] as? [UInt32], try numbers(field(lines, "alias")))
        let popular = try negatives(seed: seed, epoch: epoch, minibatch: minibatch, items: counts.count,
                                    sampler: .popularity, counts: counts, alpha: alpha)
        XCTAssertEqual(popular.ids, try numbers(field(lines, "popularity ids")))
        XCTAssertEqual(popular.logQ, try numbers(field(lines, "popularity ln q")))
    }
}
