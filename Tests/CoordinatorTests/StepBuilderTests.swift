@testable import Coordinator
import Dataset
import Kernels
import Replication
import RunSettings
import Wire
import XCTest

/// What a STEP carries for each way of reading the negatives, and which bank rows the applied step moves.
final class StepBuilderTests: XCTestCase {
    private func store(_ state: TrainingState) -> ParameterStore {
        ParameterStore(.local(state), parameterCheck: ParameterCheck(limit: .greatestFiniteMagnitude))
    }

    let dim = 4, itemCount = 30
    let data = InteractionData(name: "tiny", userCount: 6, itemCount: 30, trainUsers: [0, 1, 2, 3, 4, 5, 0, 1],
                               trainItems: [2, 7, 11, 19, 23, 29, 5, 13], testItems: Array(repeating: [], count: 6),
                               validationItems: Array(repeating: [], count: 6))

    func builder(_ loss: LossSettings) throws -> (StepBuilder, TrainingState) {
        let spec = TrainingSpec(users: data.userCount, items: itemCount, dim: dim, loss: loss, sampler: .uniform,
                                popularityAlpha: 0, seed: 7)
        let state = TrainingState(userCount: data.userCount, itemCount: itemCount, dim: dim, initStd: 0.5, seed: 3,
                                  momentum: 0.5, optimizer: OptimizerSettings(kind: .adam, learningRate: 0.1))
        // A step first, so that the bank and the item rows differ in length and direction.
        _ = state.apply([MinibatchContribution(
            examples: 1, lossSum: 0, users: SparseRows(dim: dim, ids: [0], values: [1, 2, 3, 4]),
            items: SparseRows(dim: dim, ids: (0 ..< UInt32(itemCount)).map { $0 },
                              values: (0 ..< itemCount * dim).map { Float($0 % 7) - 3 }),
            positives: [])])
        return (StepBuilder(seed: 7, minibatchSize: 4, data: data, negatives: try XCTUnwrap(TaskNegatives(spec: spec))),
                state)
    }

    let key = TaskKey(epoch: 0, minibatch: 1)

    func ascending(_ ids: [UInt32]) -> [UInt32] { Array(Set(ids)).sorted() }

    func testTrainedBankNegativesAreSentAtTheirItemRowsLengths() throws {
        var (steps, state) = try builder(LossSettings(temperature: 0.1, negatives: 6, trainedBankNegatives: true))
        let step = try steps.message(step: 0, tasks: [key], store: store(state))
        XCTAssertFalse(step.bank.ids.isEmpty)
        XCTAssertEqual(step.bank.ids, ascending(steps.reads(key).bank))
        XCTAssertEqual(SparseRows(step.bank), state.bankRowsAtLiveLength(step.bank.ids))
        XCTAssertNotEqual(SparseRows(step.bank), state.bank.table.rows(step.bank.ids), "not the bank rows as stored")

        // The gradient may name the negatives' item rows, and the applied step moves their bank rows.
        let task = steps.task(key)
        let negatives = step.bank.ids
        let items = ascending(task.items + negatives)
        let gradient = Gradient(step: 0, version: state.version, epoch: 0, minibatch: 1, examples: UInt32(task.users.count),
                                lossSum: 1, users: RowBlock(dim: dim, ids: ascending(task.users),
                                                            values: [Float](repeating: 0.01, count: ascending(task.users).count * dim)),
                                items: RowBlock(dim: dim, ids: items, values: [Float](repeating: 0.01, count: items.count * dim)))
        XCTAssertNil(steps.refusal(of: gradient, store: store(state)))
        steps.accept(gradient)
        let contributions = steps.contributions([key], step: 0).map(\.contribution)
        XCTAssertEqual(ascending(contributions[0].trainedBankNegatives), negatives)
        let delta = state.apply(contributions)
        XCTAssertEqual(delta.bank.ids, ascending(task.items + negatives))
    }

    /// The hard-negative pool rides in the bank block at live lengths beside live negatives in the item block; a
    /// GRADIENT may name any pool item's row (which ones its pairs chose is the worker's computation), and the
    /// applied step moves the bank rows of every item row the GRADIENT holds. An item neither drawn nor in the pool
    /// is refused.
    func testTheHardNegativePoolIsSentAtLiveLengthsAndItsChosenRowsMoveTheBank() throws {
        var (steps, state) = try builder(LossSettings(temperature: 0.1, negatives: 3, liveNegatives: true,
                                                      hardNegatives: 2, hardNegativePool: 8))
        let step = try steps.message(step: 0, tasks: [key], store: store(state))
        let task = steps.task(key)
        let pool = TaskNegatives(spec: TrainingSpec(users: data.userCount, items: itemCount, dim: dim,
                                                    loss: steps.negativesLoss, sampler: .uniform, popularityAlpha: 0,
                                                    seed: 7))!.pool(for: task)
        XCTAssertFalse(pool.isEmpty)
        XCTAssertEqual(pool, ascending(pool), "ascending without repeats")
        XCTAssertEqual(step.bank.ids, pool, "live negatives: the bank block is the pool")
        XCTAssertEqual(SparseRows(step.bank), state.bankRowsAtLiveLength(pool))
        let chosen = pool.first { !task.items.contains($0) && !steps.reads(key).items.contains($0) }!
        let users = ascending(task.users)
        func gradient(_ items: [UInt32]) -> Gradient {
            Gradient(step: 0, version: state.version, epoch: 0, minibatch: 1, examples: UInt32(task.users.count),
                     lossSum: 1, users: RowBlock(dim: dim, ids: users, values: [Float](repeating: 0.01, count: users.count * dim)),
                     items: RowBlock(dim: dim, ids: items, values: [Float](repeating: 0.01, count: items.count * dim)))
        }
        let outside = (0 ..< UInt32(itemCount)).first { !pool.contains($0) && !steps.reads(key).items.contains($0) }!
        XCTAssertNotNil(steps.refusal(of: gradient(ascending(task.items + [outside])), store: store(state)),
                        "an item neither drawn nor in the pool is refused")
        let items = ascending(task.items + [chosen])
        XCTAssertNil(steps.refusal(of: gradient(items), store: store(state)))
        steps.accept(gradient(items))
        let contributions = steps.contributions([key], step: 0).map(\.contribution)
        XCTAssertEqual(contributions[0].trainedBankNegatives, items)
        XCTAssertEqual(state.apply(contributions).bank.ids, items)
    }

    /// With dot similarity a pool row's length bounds a user's gradient like any other row it is compared with: a
    /// pool item 1000 times longer than the rest raises the contract's value bound to match.
    func testAPoolRowsLengthBoundsTheGradientUnderDotSimilarity() throws {
        let loss = LossSettings(similarity: .dot, temperature: 0.1, negatives: 3, liveNegatives: true,
                                hardNegatives: 2, hardNegativePool: 8)
        let spec = TrainingSpec(users: data.userCount, items: itemCount, dim: dim, loss: loss, sampler: .uniform,
                                popularityAlpha: 0, seed: 7)
        let negatives = try XCTUnwrap(TaskNegatives(spec: spec))
        var (steps, state) = try builder(loss)
        let task = steps.task(key)
        let drawn = Set(negatives.draw(for: task).ids + task.items)
        let long = try XCTUnwrap(negatives.pool(for: task).first { !drawn.contains($0) })
        let before = negatives.contract(for: task, users: state.users, items: state.items, bank: state.bank.table)
        state.items.withUnsafeMutableValues { $0[Int(long) * dim] = 1000 }
        let after = negatives.contract(for: task, users: state.users, items: state.items, bank: state.bank.table)
        XCTAssertGreaterThan(after.maxAbs, 100 * before.maxAbs)
    }

    func testConstantBankNegativesAreSentAsStoredAndGetNoRows() throws {
        var (steps, state) = try builder(LossSettings(temperature: 0.1, negatives: 6))
        let step = try steps.message(step: 0, tasks: [key], store: store(state))
        XCTAssertEqual(SparseRows(step.bank), state.bank.table.rows(step.bank.ids))
        let task = steps.task(key)
        let extra = step.bank.ids.first { !task.items.contains($0) }!
        let items = ascending(task.items + [extra])
        let users = ascending(task.users)
        let gradient = Gradient(step: 0, version: state.version, epoch: 0, minibatch: 1, examples: UInt32(task.users.count),
                                lossSum: 1, users: RowBlock(dim: dim, ids: users, values: [Float](repeating: 0.01, count: users.count * dim)),
                                items: RowBlock(dim: dim, ids: items, values: [Float](repeating: 0.01, count: items.count * dim)))
        XCTAssertNotNil(steps.refusal(of: gradient, store: store(state)), "a constant bank negative's item row is refused")
    }
}
