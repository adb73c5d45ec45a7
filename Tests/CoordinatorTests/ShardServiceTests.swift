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
        let prepared = shard.answer(.shardRead(ShardRead(version: 1, bankAtLiveLength: true, prepareOnly: true,
                                                         users: [1], items: [3], bank: [5])))
        guard case let .shardRows(none) = prepared else { return XCTFail("\(prepared)") }
        XCTAssertTrue(none.users.isEmpty && none.items.isEmpty && none.bank.isEmpty && none.version == 1,
                      "a prepare-only read sends no rows")
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

    // MARK: checkpoints

    private func stateDirectory(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    private func step(_ version: UInt64, _ base: Float) -> Message {
        .shardApply(ShardApply(version: version, learningRateScale: 1, minibatches: [
            ShardContribution(examples: 2, lossSum: 1, users: RowBlock(rows([0, 4], base)), items: RowBlock(rows([2], -base)),
                              followed: [2, 4]),
        ]))
    }

    /// Every row the shard holds, caught up.
    private func everything(_ shard: ShardService) -> [Message] {
        ShardTable.allCases.map { table in
            let rows = shard.partition.rows(of: table == .users ? 7 : 6)
            return shard.answer(.shardExport(table: table, start: 0, count: UInt32(rows)))
        }
    }

    /// A shard's checkpoint of a step, restored by a fresh shard process: the same rows, optimizer state and
    /// version, so that the next steps give the same rows as on the shard that never stopped.
    func testACheckpointRestoredByAFreshShardContinuesBitForBit() throws {
        let dir = try stateDirectory("restore")
        let first = ShardService(stateDirectory: dir)
        XCTAssertEqual(first.answer(.shardOpen(open(index: 0))), .shardReady(runId: 7, index: 0, version: 0))
        for v in 0 ..< 3 { XCTAssertEqual(first.answer(step(UInt64(v), 0.1 * Float(v + 1))), .shardApplied(version: UInt64(v + 1), problem: "")) }
        guard case let .shardSaved(version, savedStep, checksum, bytes) = first.answer(.shardSave(version: 3, step: 4)) else {
            return XCTFail("no SHARD_SAVED")
        }
        XCTAssertEqual([version, savedStep], [3, 4])
        let path = dir + "/shard-1-of-2-checkpoint-0000000004.mbt"
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).count, Int(bytes))
        for v in 3 ..< 5 { _ = first.answer(step(UInt64(v), 0.3)) }

        var request = open(index: 0)
        request.restore = ShardRestore(step: 4, version: 3, checksum: checksum)
        let second = ShardService(stateDirectory: dir)
        XCTAssertEqual(second.answer(.shardOpen(request)), .shardReady(runId: 7, index: 0, version: 3))
        for v in 3 ..< 5 { XCTAssertEqual(second.answer(step(UInt64(v), 0.3)), .shardApplied(version: UInt64(v + 1), problem: "")) }
        XCTAssertEqual(everything(second), everything(first), "dense Adam's moments and idle counts came back too")
        // The shard that went on restores the same file: it is back at version 3.
        XCTAssertEqual(first.answer(.shardOpen(request)), .shardReady(runId: 7, index: 0, version: 3))
        XCTAssertEqual(first.answer(step(3, 0.3)), .shardApplied(version: 4, problem: ""))
    }

    /// What a shard must not restore is refused, and the state it held stays as it was.
    func testACheckpointThatIsNotTheOneNamedIsRefused() throws {
        let dir = try stateDirectory("refuse")
        let shard = ShardService(stateDirectory: dir)
        _ = shard.answer(.shardOpen(open(index: 1)))
        _ = shard.answer(step(0, 0.2).withOwnRows(of: RowPartition(index: 1, count: 2)))
        guard case let .shardSaved(_, _, checksum, _) = shard.answer(.shardSave(version: 1, step: 2)) else {
            return XCTFail("no SHARD_SAVED")
        }
        let before = everything(shard)
        func restoring(step: UInt64 = 2, version: UInt64 = 1, checksum: UInt32 = checksum, runId: UInt64 = 7,
                       edit: (inout ShardOpen) -> Void = { _ in }) -> Message {
            var request = open(index: 1, runId: runId)
            request.restore = ShardRestore(step: step, version: version, checksum: checksum)
            edit(&request)
            return .shardOpen(request)
        }
        let cases: [(Message, String)] = [
            (restoring(step: 3), "no checkpoint of step 3"),
            (restoring(checksum: checksum ^ 1), "checksum"),
            (restoring(version: 2), "version"),
            (restoring(runId: 8), "holds run 7"),
            (restoring { $0.users = 9 }, "not shard"),
            (restoring { $0.momentum = 0.25 }, "momentum"),
            (.shardSave(version: 0, step: 3), "version"),
            (.shardSave(version: 1, step: 0), "step 0"),
        ]
        for (request, expected) in cases {
            let text = refusal(shard.answer(request))
            XCTAssertTrue(text?.contains(expected) == true, "\(request.name): \(text ?? "accepted")")
        }
        // A fresh shard: another run's file, a damaged file, no directory at all.
        XCTAssertTrue(refusal(ShardService(stateDirectory: dir).answer(restoring(runId: 8)))?.contains("run 7 step 2") == true)
        let path = dir + "/shard-2-of-2-checkpoint-0000000002.mbt"
        var damaged = try Data(contentsOf: URL(fileURLWithPath: path))
        damaged[40] ^= 1
        try damaged.write(to: URL(fileURLWithPath: path))
        XCTAssertTrue(refusal(ShardService(stateDirectory: dir).answer(restoring()))?.contains("checksum mismatch") == true)
        XCTAssertTrue(refusal(ShardService().answer(restoring()))?.contains("--state-dir") == true)
        guard case .shardSaved = shard.answer(.shardSave(version: 1, step: 3)) else {
            return XCTFail("the shard that holds the run saves again")
        }
        XCTAssertEqual(everything(shard), before, "nothing refused touched the state")
        let keeper = ShardService()
        _ = keeper.answer(.shardOpen(open(index: 1)))
        XCTAssertTrue(refusal(keeper.answer(.shardSave(version: 0, step: 1)))?.contains("--state-dir") == true)
    }
}

private extension Message {
    /// A SHARD_APPLY with only the rows `p` owns.
    func withOwnRows(of p: RowPartition) -> Message {
        guard case var .shardApply(apply) = self else { return self }
        for k in apply.minibatches.indices {
            let m = apply.minibatches[k]
            func own(_ block: RowBlock) -> RowBlock {
                var out = SparseRows(dim: block.dim)
                let rows = SparseRows(block)
                for (r, id) in rows.ids.enumerated() where p.owns(id) { out.append(id: id, row: rows.row(r)) }
                return RowBlock(out)
            }
            apply.minibatches[k] = ShardContribution(examples: m.examples, lossSum: m.lossSum, users: own(m.users),
                                                     items: own(m.items), followed: m.followed.filter(p.owns))
        }
        return .shardApply(apply)
    }
}
