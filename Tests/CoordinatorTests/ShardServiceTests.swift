import Coordinator
import Kernels
import Replication
import Wire
import XCTest

/// A state shard's answers: the rows of the whole state that it owns, at every version, and a refusal that changes
/// nothing for every request it must not carry out.
final class ShardServiceTests: XCTestCase {
    private let dim = 3
    private let optimizer = OptimizerSettings(kind: .denseAdam, learningRate: 0.05, weightDecay: 0.01)

    private func open(index: UInt32, count: UInt32 = 2, runId: UInt64 = 7) -> ShardOpen {
        ShardOpen(runId: runId, index: index, count: count, users: 7, items: 6, dim: UInt32(dim), initStd: 0.4, seed: 9,
                  momentum: 0.5, optimizerKind: ShardService.optimizerCode(optimizer.kind),
                  learningRate: optimizer.learningRate, beta1: optimizer.beta1, beta2: optimizer.beta2,
                  epsilon: optimizer.epsilon, weightDecay: optimizer.weightDecay, parameterLimit: 1e6)
    }

    private func whole() -> TrainingState {
        TrainingState(userCount: 7, itemCount: 6, dim: dim, initStd: 0.4, seed: 9, momentum: 0.5, optimizer: optimizer)
    }

    private func rows(_ ids: [UInt32], _ base: Float) -> SparseRows {
        SparseRows(dim: dim, ids: ids, values: ids.flatMap { id in (0 ..< 3).map { base + Float(id) / 10 - Float($0) / 7 } })
    }

    private func refusal(_ answer: Message, file: StaticString = #filePath, line: UInt = #line) -> String? {
        guard case let .reject(_, text) = answer else { return nil }
        return text
    }

    func testAShardAnswersWithTheRowsOfTheWholeStateThatItOwns() throws {
        let state = whole()
        let shard = ShardService()
        XCTAssertEqual(shard.answer(.shardOpen(open(index: 1))), .shardReady(runId: 7, index: 1, version: 0))
        let contribution = MinibatchContribution(examples: 3, lossSum: 2, users: rows([1, 2, 5], 0.3),
                                                 items: rows([0, 3, 4], -0.2), positives: [3, 4], trainedBankNegatives: [5])
        _ = state.apply([contribution], learningRateScale: 0.5)
        let p = RowPartition(index: 1, count: 2)
        let applied = shard.answer(.shardApply(ShardApply(version: 0, learningRateScale: 0.5, minibatches: [
            ShardContribution(examples: 3, lossSum: 2, users: RowBlock(rows([1, 5], 0.3)), items: RowBlock(rows([3], -0.2)),
                              followed: [3, 5]),
        ])))
        XCTAssertEqual(applied, .shardApplied(version: 1, problem: ""))
        state.catchUpAll()
        let answer = shard.answer(.shardRead(ShardRead(version: 1, bankAtLiveLength: true, users: [1, 3, 5],
                                                       items: [1, 3, 5], bank: [3, 5])))
        guard case let .shardRows(read) = answer else { return XCTFail("\(answer)") }
        XCTAssertEqual(SparseRows(read.users), state.users.rows([1, 3, 5]))
        XCTAssertEqual(SparseRows(read.items), state.items.rows([1, 3, 5]))
        XCTAssertEqual(SparseRows(read.bank), state.bankRowsAtLiveLength([3, 5]))
        let export = shard.answer(.shardExport(table: .bank, start: 1, count: 2))
        guard case let .shardRows(slice) = export else { return XCTFail("\(export)") }
        XCTAssertEqual(slice.bank.ids, [p.global(1), p.global(2)])
        XCTAssertEqual(SparseRows(slice.bank), state.bank.table.rows([3, 5]))
        XCTAssertTrue(slice.users.isEmpty && slice.items.isEmpty)
    }

    func testRequestsItMustNotCarryOutAreRefusedAndChangeNothing() throws {
        let shard = ShardService()
        let read = ShardRead(version: 0, bankAtLiveLength: false, users: [1], items: [], bank: [])
        XCTAssertTrue(refusal(shard.answer(.shardRead(read)))?.contains("before SHARD_OPEN") == true)
        var bad = open(index: 2)
        XCTAssertNotNil(refusal(shard.answer(.shardOpen(bad))), "index beyond the count")
        bad = open(index: 0)
        bad.momentum = 2
        XCTAssertNotNil(refusal(shard.answer(.shardOpen(bad))))
        bad = open(index: 0)
        bad.parameterLimit = .infinity
        XCTAssertNotNil(refusal(shard.answer(.shardOpen(bad))))
        XCTAssertNil(shard.state)
        XCTAssertEqual(shard.answer(.shardOpen(open(index: 0))), .shardReady(runId: 7, index: 0, version: 0))
        XCTAssertEqual(shard.answer(.shardOpen(open(index: 0))), .shardReady(runId: 7, index: 0, version: 0),
                       "the same request again (its answer lost) is answered again")
        XCTAssertTrue(refusal(shard.answer(.shardOpen(open(index: 0, runId: 8))))?.contains("holds run 7") == true)
        let cases: [(Message, String)] = [
            (.shardRead(ShardRead(version: 1, bankAtLiveLength: false, users: [0], items: [], bank: [])), "version"),
            (.shardRead(ShardRead(version: 0, bankAtLiveLength: false, users: [1], items: [], bank: [])), "another shard"),
            (.shardRead(ShardRead(version: 0, bankAtLiveLength: false, users: [2, 0], items: [], bank: [])), "ascending"),
            (.shardRead(ShardRead(version: 0, bankAtLiveLength: false, users: [], items: [6], bank: [])), "not below"),
            (.shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [])), "at least one example"),
            (.shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [
                ShardContribution(examples: 1, lossSum: 0, users: RowBlock(dim: dim, ids: [0], values: [1, .nan, 0]),
                                  items: .empty(dim: dim), followed: []),
            ])), "nan"),
            (.shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [
                ShardContribution(examples: 1, lossSum: 0, users: .empty(dim: dim),
                                  items: RowBlock(dim: dim, ids: [3], values: [1, 1, 1]), followed: []),
            ])), "another shard"),
            (.shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [
                ShardContribution(examples: 1, lossSum: 0, users: .empty(dim: 2), items: .empty(dim: dim), followed: []),
            ])), "dim"),
            (.shardApply(ShardApply(version: 0, learningRateScale: .nan, minibatches: [
                ShardContribution(examples: 1, lossSum: 0, users: .empty(dim: dim), items: .empty(dim: dim), followed: []),
            ])), "scale"),
            (.shardExport(table: .users, start: 3, count: 2), "rows 3..<5"),
            (.heartbeat(version: 0), "does not answer HEARTBEAT"),
        ]
        let before = shard.state!.users.values
        for (message, expected) in cases {
            let text = refusal(shard.answer(message))
            XCTAssertTrue(text?.lowercased().contains(expected.lowercased()) == true, "\(message.name): \(text ?? "answered")")
            XCTAssertEqual(shard.state?.version, 0)
        }
        XCTAssertEqual(shard.state!.users.values, before, "nothing refused touched the rows")
    }

    /// A step that makes a parameter unusable is reported, and the shard then serves nothing more of that state
    /// (the coordinator stops the run on the report).
    func testAfterAStepMakesAParameterUnusableTheShardServesNothingMore() {
        var request = open(index: 0)
        request.parameterLimit = 10
        request.initStd = 0.1
        request.optimizerKind = ShardService.optimizerCode(.sgd)
        request.learningRate = 1000
        request.weightDecay = 0
        let shard = ShardService()
        XCTAssertEqual(shard.answer(.shardOpen(request)), .shardReady(runId: 7, index: 0, version: 0))
        let answer = shard.answer(.shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [
            ShardContribution(examples: 1, lossSum: 0, users: RowBlock(dim: dim, ids: [0], values: [1, 1, 1]),
                              items: .empty(dim: dim), followed: []),
        ])))
        guard case let .shardApplied(version, problem) = answer else { return XCTFail("\(answer)") }
        XCTAssertEqual(version, 1)
        XCTAssertTrue(problem.contains("user row 0"), problem)
        let read = shard.answer(.shardRead(ShardRead(version: 1, bankAtLiveLength: false, users: [0], items: [], bank: [])))
        XCTAssertTrue(refusal(read)?.contains("unusable") == true, "\(read)")
        XCTAssertNotNil(refusal(shard.answer(.shardExport(table: .users, start: 0, count: 1))))
    }

    func testAShardRefusesToBuildMoreThanItTakes() {
        let shard = ShardService(maxValues: 40)   // 4 users + 3 items at dim 3, four arrays each: 84 values
        XCTAssertTrue(refusal(shard.answer(.shardOpen(open(index: 0))))?.contains("needs more") == true)
        XCTAssertNil(shard.state)
        // A small share of huge tables: the shard would draw every row's initial values.
        let drawing = ShardService(maxValues: 1 << 20, maxDrawnValues: 1000)
        var huge = open(index: 0, count: 1 << 20)
        huge.users = 1 << 30
        XCTAssertTrue(refusal(drawing.answer(.shardOpen(huge)))?.contains("draws its share from") == true)
        XCTAssertNil(drawing.state)
    }
}
