import Coordinator
import Kernels
import MemoryBank
import Replication
import TestSupport
import Wire
import XCTest

/// `TrainingState` with lazy dense Adam: the same parameters as the eager reference once caught up, deltas that
/// hold the gradient's rows, and rows that are current once read.
final class TrainingStateDenseAdamTests: XCTestCase {
    private let dim = 11   // an 8-lane block and a scalar tail
    private let optimizer = OptimizerSettings(kind: .denseAdam, learningRate: 0.05, weightDecay: 0.01)

    private func makeState() -> TrainingState {
        TrainingState(userCount: 6, itemCount: 5, dim: dim, initStd: 0.3, seed: 12, momentum: 0.75, optimizer: optimizer)
    }

    private func rows(_ ids: [UInt32], seed: UInt64) -> SparseRows {
        var random = SeededRandom(seed: seed)
        return SparseRows(dim: dim, ids: ids, values: (0 ..< ids.count * dim).map { _ in Float(random.nextGaussian()) })
    }

    /// Step n's two minibatches. Even steps: users 1, 3, items 0, 4 and 2; odd steps: users 2, 4, item 2, with
    /// item 4 a positive although not in the gradient (the bank reads it, moved on its momentum).
    private func contributions(step n: Int) -> [MinibatchContribution] {
        let seed = UInt64(10 * n)
        if n.isMultiple(of: 2) {
            return [MinibatchContribution(examples: 2, lossSum: 1, users: rows([1, 3], seed: seed),
                                          items: rows([0, 4], seed: seed + 1), positives: [0, 4]),
                    MinibatchContribution(examples: 1, lossSum: 1, users: rows([3], seed: seed + 2),
                                          items: rows([2], seed: seed + 3), positives: [2])]
        }
        return [MinibatchContribution(examples: 2, lossSum: 1, users: rows([2, 4], seed: seed),
                                      items: rows([2], seed: seed + 1), positives: [2, 4])]
    }

    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// Six steps with a changing learning-rate scale: the bank after each step, and the tables after `catchUpAll`,
    /// equal bit for bit the same steps with the eager reference (every row stepped every step).
    func testMatchesTheEagerReferenceBitForBit() {
        let state = makeState()
        let eager = makeState()   // its tables and bank, moved by the reference below
        let userReference = EagerDenseAdam(settings: optimizer, rows: 6, dim: dim)
        let itemReference = EagerDenseAdam(settings: optimizer, rows: 5, dim: dim)
        let userAverager = GradientAverager(rows: 6, dim: dim), itemAverager = GradientAverager(rows: 5, dim: dim)
        for n in 0 ..< 6 {
            let scale = Float(1 + n) / 4
            let c = contributions(step: n)
            let delta = state.apply(c, learningRateScale: scale)
            let examples = c.reduce(0) { $0 + $1.examples }
            for contribution in c {
                userAverager.add(contribution.users)
                itemAverager.add(contribution.items)
            }
            let userGradient = userAverager.finish(examples: examples)
            let itemGradient = itemAverager.finish(examples: examples)
            let movedUsers = userReference.apply(userGradient, to: eager.users, learningRateScale: scale)
            let movedItems = itemReference.apply(itemGradient, to: eager.items, learningRateScale: scale)
            _ = eager.bank.update(itemIds: c.flatMap(\.positives), itemTable: eager.items, newVersion: UInt64(n + 1))
            XCTAssertEqual(delta.users.ids, userGradient.ids, "step \(n): the rows that moved in the step")
            XCTAssertEqual(delta.items.ids, itemGradient.ids)
            if n > 0 { XCTAssertGreaterThan(movedUsers.count, userGradient.ids.count, "step \(n): eager moved more") }
            XCTAssertGreaterThanOrEqual(movedItems.count, itemGradient.ids.count)
            XCTAssertEqual(bits(state.bank.table.values), bits(eager.bank.table.values), "bank after step \(n)")
        }
        XCTAssertFalse(state.userOptimizer.isCaughtUp, "users 1 and 3 still move on their momentum")
        state.catchUpAll()
        XCTAssertTrue(state.userOptimizer.isCaughtUp && state.itemOptimizer.isCaughtUp)
        XCTAssertEqual(bits(state.users.values), bits(eager.users.values))
        XCTAssertEqual(bits(state.items.values), bits(eager.items.values))
        XCTAssertEqual(state.userOptimizer.state, userReference.state)
        XCTAssertEqual(state.itemOptimizer.state, itemReference.state)
    }

    /// Rows caught up by `catchUp(users:items:)` hold the reference's values; the others wait, and `contentHash`
    /// and a checkpoint catch everything up first.
    func testCatchUpOfRowsReadAndWholeStateReaders() throws {
        let state = makeState(), eager = makeState()
        let userReference = EagerDenseAdam(settings: optimizer, rows: 6, dim: dim)
        let itemReference = EagerDenseAdam(settings: optimizer, rows: 5, dim: dim)
        for n in 0 ..< 2 {
            let c = contributions(step: n)
            _ = state.apply(c)
            let averager = (users: GradientAverager(rows: 6, dim: dim), items: GradientAverager(rows: 5, dim: dim))
            for contribution in c { averager.users.add(contribution.users); averager.items.add(contribution.items) }
            let examples = c.reduce(0) { $0 + $1.examples }
            userReference.apply(averager.users.finish(examples: examples), to: eager.users)
            itemReference.apply(averager.items.finish(examples: examples), to: eager.items)
            _ = eager.bank.update(itemIds: c.flatMap(\.positives), itemTable: eager.items, newVersion: UInt64(n + 1))
        }
        // Users 1 and 3 were in step 1's gradient only: behind by one step until read.
        XCTAssertNotEqual(bits(Array(state.users.row(1))), bits(Array(eager.users.row(1))))
        state.catchUp(users: [3, 1, 3], items: [0])
        for r in [1, 3] { XCTAssertEqual(bits(Array(state.users.row(r))), bits(Array(eager.users.row(r))), "user \(r)") }
        XCTAssertEqual(bits(Array(state.items.row(0))), bits(Array(eager.items.row(0))))
        let checkpoint = Checkpoint(runId: 1, cursor: TrainingCursor(step: 2, version: 2, epoch: 0, minibatch: 3),
                                    shape: RunShape(minibatchSize: 3, minibatchesPerStep: 1, seed: 1), audit: EpochAudit(),
                                    state: state)
        XCTAssertTrue(state.userOptimizer.isCaughtUp && state.itemOptimizer.isCaughtUp, "the checkpoint caught up")
        XCTAssertEqual(checkpoint.userOptimizer.state, userReference.state)
        XCTAssertEqual(bits(checkpoint.items.values), bits(eager.items.values))
        _ = state.apply(contributions(step: 2))
        XCTAssertFalse(state.userOptimizer.isCaughtUp)
        let hash = state.contentHash()
        XCTAssertTrue(state.userOptimizer.isCaughtUp, "the hash is of caught-up tables")
        XCTAssertEqual(hash, state.contentHash())
    }

    /// A checkpoint file taken with rows behind (written, read back, restored) trains on bit for bit like the state
    /// it was taken from.
    func testCheckpointFileRoundTripContinuesBitForBit() throws {
        let state = makeState()
        for n in 0 ..< 3 { _ = state.apply(contributions(step: n), learningRateScale: 0.5) }
        XCTAssertFalse(state.userOptimizer.isCaughtUp)
        let file = Checkpoint(runId: 1, cursor: TrainingCursor(step: 4, version: 3), shape: RunShape(minibatchSize: 3,
                              minibatchesPerStep: 1, seed: 1), audit: EpochAudit(), state: state).encoded()
        let restored = try Checkpoint.decode(file, path: "dense.ckpt").restore(optimizer: optimizer)
        XCTAssertTrue(restored.userOptimizer.isCaughtUp && restored.itemOptimizer.isCaughtUp)
        for n in 3 ..< 7 {
            let a = state.apply(contributions(step: n)), b = restored.apply(contributions(step: n))
            XCTAssertEqual(a, b, "step \(n): the same delta")
        }
        state.catchUpAll()
        restored.catchUpAll()
        XCTAssertEqual(bits(restored.users.values), bits(state.users.values))
        XCTAssertEqual(bits(restored.items.values), bits(state.items.values))
        XCTAssertEqual(bits(restored.bank.table.values), bits(state.bank.table.values))
        XCTAssertEqual(restored.userOptimizer.state.map(bits), state.userOptimizer.state.map(bits))
    }
}
