@testable import Coordinator
import Logging
import TestSupport
import Transport
import Wire
import XCTest

/// A shard's socket loop: a repeated request (the coordinator resends what it got no answer to) is answered from
/// the copy of its answer, so a step is applied once however often its SHARD_APPLY arrives.
final class ShardServerTests: XCTestCase {
    private let open = ShardOpen(runId: 5, index: 0, count: 2, users: 6, items: 4, dim: 2, initStd: 0.3, seed: 1,
                                 momentum: 0.5, optimizerKind: ShardService.optimizerCode(.adam), learningRate: 0.1,
                                 beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, parameterLimit: 1e6)

    private func apply(_ version: UInt64) -> Message {
        .shardApply(ShardApply(version: version, learningRateScale: 1, minibatches: [
            ShardContribution(examples: 1, lossSum: 0.5, users: RowBlock(dim: 2, ids: [2], values: [0.5, -0.5]),
                              items: .empty(dim: 2), followed: [0]),
        ]))
    }

    func testARepeatedRequestIsAnsweredFromTheCopyAndNotCarriedOutAgain() throws {
        let network = InMemoryNetwork()
        let server = try ShardServer(bind: "", maxMessageBytes: 1 << 20, logger: Logger(label: "test"),
                                     transport: network.router(address: "inmemory://shard"))
        let link = network.dealer()
        func exchange(_ sequence: UInt64, _ message: Message) throws -> Envelope? {
            XCTAssertTrue(try link.send(Envelope(sender: 0, sequence: sequence, message: message)))
            try server.serve(timeoutMilliseconds: 100)
            guard case let .message(_, envelope)? = try link.receive(timeoutMilliseconds: 1000) else { return nil }
            return envelope
        }
        XCTAssertEqual(try exchange(40, .shardOpen(open))?.message, .shardReady(runId: 5, index: 0, version: 0))
        XCTAssertEqual(try exchange(41, apply(0))?.message, .shardApplied(version: 1, problem: ""))
        let repeated = try exchange(41, apply(0))
        XCTAssertEqual(repeated?.sequence, 41)
        XCTAssertEqual(repeated?.message, .shardApplied(version: 1, problem: ""), "the copy, not a refusal")
        XCTAssertEqual(server.service.state?.version, 1, "the step was applied once")
        XCTAssertEqual(server.repeats, 1)
        // The same message under another sequence number is a new request: carried out, and refused (version).
        guard case .reject? = try exchange(42, apply(0))?.message else { return XCTFail("a stale SHARD_APPLY was carried out") }
        // A refusal is not kept: the last answer kept is still step 1's.
        XCTAssertEqual(try exchange(41, apply(0))?.message, .shardApplied(version: 1, problem: ""))
        XCTAssertEqual(try exchange(43, apply(1))?.message, .shardApplied(version: 2, problem: ""))
        XCTAssertEqual(server.service.state?.version, 2)
    }
}
