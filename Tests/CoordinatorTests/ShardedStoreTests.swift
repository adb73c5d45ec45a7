@testable import Coordinator
import Foundation
import Kernels
import Logging
import Replication
import TestSupport
import Wire
import XCTest

/// The coordinator's side of two shards (each a `ShardServer` on its own thread, over in-memory links): the rows of
/// all of a step's STEPs are read in one exchange and equal the whole state's, a prepare-only read sends none back,
/// and rows kept from a step are not used once the next is applied.
final class ShardedStoreTests: XCTestCase {
    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    /// A server handed to the one thread that runs it.
    private final class ServerBox: @unchecked Sendable {
        let server: ShardServer
        init(_ server: ShardServer) { self.server = server }
    }

    private let optimizer = OptimizerSettings(kind: .denseAdam, learningRate: 0.05, weightDecay: 0.01)

    private func rows(_ ids: [UInt32], _ base: Float) -> SparseRows {
        SparseRows(dim: 3, ids: ids, values: ids.flatMap { id in (0 ..< 3).map { base + Float(id) / 10 - Float($0) / 7 } })
    }

    func testAStepsRowsAreReadOnceForAllItsSTEPs() throws {
        let networks = [InMemoryNetwork(), InMemoryNetwork()]
        let stop = Flag()
        var finished: [Flag] = []
        for network in networks {
            let server = try ShardServer(bind: "", maxMessageBytes: 1 << 20, logger: Logger(label: "shard"),
                                         transport: network.router())
            let done = Flag()
            finished.append(done)
            let box = ServerBox(server)
            Thread.detachNewThread {
                try? box.server.run(stopRequested: { stop.isSet })
                done.set()
            }
        }
        defer {
            stop.set()
            for done in finished { while !done.isSet { usleep(1000) } }
        }
        let open = ShardOpen(runId: 3, index: 0, count: 2, users: 9, items: 7, dim: 3, initStd: 0.4, seed: 9,
                             momentum: 0.5, optimizerKind: ShardService.optimizerCode(optimizer.kind),
                             learningRate: optimizer.learningRate, beta1: optimizer.beta1, beta2: optimizer.beta2,
                             epsilon: optimizer.epsilon, weightDecay: optimizer.weightDecay, parameterLimit: 1e6)
        let shards = try ShardedState(links: networks.map { $0.dealer() }, addresses: ["a", "b"], open: open, timeout: 10)
        let store = ParameterStore(.sharded(shards), parameterCheck: ParameterCheck(limit: 1e6))
        let whole = TrainingState(userCount: 9, itemCount: 7, dim: 3, initStd: 0.4, seed: 9, momentum: 0.5,
                                  optimizer: optimizer)
        for (k, base) in [Float(0.3), -0.2, 0.1].enumerated() {
            let step = MinibatchContribution(examples: 2, lossSum: 1, users: rows([1, 4, 8], base),
                                             items: rows([k == 0 ? 2 : 5, 6], -base), positives: [2, 6])
            XCTAssertNil(try store.apply([step], learningRateScale: 1))
            _ = whole.apply([step], learningRateScale: 1)
        }
        let a = TaskReads(users: [1, 2], items: [0, 3], bank: [3, 5]), b = TaskReads(users: [2, 5], items: [3, 6], bank: [6])
        let before = shards.exchanges
        try store.prefetch(TaskReads.union([a, b]), bankAtLiveLength: true)
        try store.fetchStepRows(TaskReads.union([a, b]), bankAtLiveLength: true)
        let ra = try store.stepRows(a, bankAtLiveLength: true), rb = try store.stepRows(b, bankAtLiveLength: true)
        XCTAssertEqual(shards.exchanges, before + 1, "one read for both STEPs (the prepare is not waited for)")
        XCTAssertEqual(shards.prepared, 1)
        whole.catchUpAll()
        for (read, reads) in [(ra, a), (rb, b)] {
            XCTAssertEqual(read.users, whole.users.rows(reads.users))
            XCTAssertEqual(read.items, whole.items.rows(reads.items))
            XCTAssertEqual(read.bank, whole.bankRowsAtLiveLength(reads.bank))
        }
        XCTAssertEqual(try store.stepRows(a, bankAtLiveLength: false).bank, whole.bank.table.rows(a.bank),
                       "the bank as stored is not the bank at live length: asked again")
        let step = MinibatchContribution(examples: 1, lossSum: 0, users: rows([2], 0.5), items: rows([3], 0.5), positives: [3])
        XCTAssertNil(try store.apply([step], learningRateScale: 1))
        _ = whole.apply([step], learningRateScale: 1)
        let exchanged = shards.exchanges
        let after = try store.stepRows(a, bankAtLiveLength: true)
        XCTAssertEqual(shards.exchanges, exchanged + 1, "the next version's rows come from the shards")
        whole.catchUpAll()
        XCTAssertEqual(after.users, whole.users.rows(a.users))
        XCTAssertEqual(after.items, whole.items.rows(a.items))
    }
}
