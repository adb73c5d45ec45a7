import Coordinator
import Kernels
import MemoryBank
import Replication
import XCTest

/// The state split over shards by row: each shard's rows, applied its share of every step, equal the same rows of
/// the whole state bit for bit, whatever the optimizer and however many shards.
final class RowPartitionTests: XCTestCase {
    private let dim = 11   // an 8-lane block and a scalar tail
    private let userCount = 23, itemCount = 19

    func testIdsMapToLocalRowsAndBack() {
        let p = RowPartition(index: 1, count: 3)
        XCTAssertEqual(p.rows(of: 7), 2)   // 1, 4
        XCTAssertEqual(p.rows(of: 1), 0)
        XCTAssertEqual(RowPartition(index: 0, count: 3).rows(of: 7), 3)   // 0, 3, 6
        XCTAssertEqual(p.localIds([0, 1, 2, 4, 7, 9, 10]), [0, 1, 2, 3])
        XCTAssertEqual((0 ..< 4).map { p.global($0) }, [1, 4, 7, 10])
        var rows = SparseRows(dim: 2)
        for id: UInt32 in [2, 4, 5, 7] { rows.append(id: id, row: [Float(id), -Float(id)]) }
        let local = p.localRows(rows)
        XCTAssertEqual(local.ids, [1, 2])
        XCTAssertEqual(local.values, [4, -4, 7, -7])
        XCTAssertEqual(p.globalRows(local).ids, [4, 7])
        XCTAssertEqual(RowPartition.whole.localRows(rows), rows)
    }

    private func randomRows(_ count: Int, below total: Int, random: inout SeededRandom) -> SparseRows {
        let ids = Array(Set((0 ..< count).map { _ in UInt32(random.nextInt(below: total)) })).sorted()
        return SparseRows(dim: dim, ids: ids, values: (0 ..< ids.count * dim).map { _ in Float(random.nextGaussian()) })
    }

    /// Step n's minibatches: random users, items, positives and followed negatives, from the step's own stream.
    private func contributions(step n: Int) -> [MinibatchContribution] {
        var random = SeededRandom(seed: 77, stream: UInt64(n))
        return (0 ..< 1 + n % 3).map { _ in
            let items = randomRows(6, below: itemCount, random: &random)
            return MinibatchContribution(
                examples: 1 + random.nextInt(below: 5), lossSum: 1, users: randomRows(5, below: userCount, random: &random),
                items: items, positives: Array(items.ids.prefix(3)) + [UInt32(random.nextInt(below: itemCount))],
                trainedBankNegatives: n % 2 == 0 ? [UInt32(random.nextInt(below: itemCount))] : [])
        }
    }

    private func bits(_ table: EmbeddingTable, row: Int) -> [UInt32] { table.row(row).map(\.bitPattern) }

    private func assertShardsEqualWhole(_ optimizer: OptimizerSettings, shards: Int,
                                        file: StaticString = #filePath, line: UInt = #line) {
        func fresh(_ p: RowPartition) -> TrainingState {
            TrainingState(partition: p, userCount: userCount, itemCount: itemCount, dim: dim, initStd: 0.3, seed: 5,
                          momentum: 0.6, optimizer: optimizer)
        }
        let whole = TrainingState(userCount: userCount, itemCount: itemCount, dim: dim, initStd: 0.3, seed: 5,
                                  momentum: 0.6, optimizer: optimizer)
        let partitions = (0 ..< shards).map { RowPartition(index: $0, count: shards) }
        let parts = partitions.map(fresh)
        for n in 0 ..< 9 {
            let c = contributions(step: n)
            let scale = Float(3 + n % 4) / 5
            _ = whole.apply(c, learningRateScale: scale)
            for (p, part) in zip(partitions, parts) {
                _ = part.apply(c.map(p.localContribution), learningRateScale: scale)
                XCTAssertEqual(part.version, whole.version, file: file, line: line)
            }
            if n == 4 {   // a read mid-run catches rows up early; it must not change what follows
                whole.catchUp(users: [0, 5, 22], items: [3, 18])
                for (p, part) in zip(partitions, parts) {
                    part.catchUp(users: p.localIds([0, 5, 22]), items: p.localIds([3, 18]))
                }
            }
        }
        whole.catchUpAll()
        for (p, part) in zip(partitions, parts) {
            part.catchUpAll()
            XCTAssertEqual(part.users.rows, p.rows(of: userCount), file: file, line: line)
            for r in 0 ..< part.users.rows {
                XCTAssertEqual(bits(part.users, row: r), bits(whole.users, row: Int(p.global(r))),
                               "\(optimizer.kind) \(p): user \(p.global(r))", file: file, line: line)
            }
            for r in 0 ..< part.items.rows {
                let id = Int(p.global(r))
                XCTAssertEqual(bits(part.items, row: r), bits(whole.items, row: id),
                               "\(optimizer.kind) \(p): item \(id)", file: file, line: line)
                XCTAssertEqual(bits(part.bank.table, row: r), bits(whole.bank.table, row: id),
                               "\(optimizer.kind) \(p): bank row \(id)", file: file, line: line)
            }
        }
    }

    func testShardsApplyTheirRowsAsTheWholeStateDoesBitForBit() {
        for kind in [OptimizerKind.denseAdam, .adam, .adagrad, .sgd] {
            let optimizer = OptimizerSettings(kind: kind, learningRate: 0.05, weightDecay: kind == .sgd ? 0 : 0.01)
            for shards in [1, 2, 3] { assertShardsEqualWhole(optimizer, shards: shards) }
        }
    }
}

/// A step's share for one shard, as `ShardService` applies it (its own rows, local ids), for comparing with the whole
/// state without the wire.
extension RowPartition {
    /// The owned ids of `ids`, made local, in their order (ascending ids stay ascending).
    func localIds(_ ids: [UInt32]) -> [UInt32] {
        if count == 1 { return ids }
        var out: [UInt32] = []
        out.reserveCapacity(ids.count / count + 1)
        for id in ids where owns(id) { out.append(local(id)) }
        return out
    }

    /// The owned rows of `rows`, with local ids, in their order.
    func localRows(_ rows: SparseRows) -> SparseRows {
        if count == 1 { return rows }
        var out = SparseRows(dim: rows.dim)
        let d = rows.dim
        rows.values.withUnsafeBufferPointer { values in
            for (k, id) in rows.ids.enumerated() where owns(id) {
                out.append(id: local(id), row: UnsafeBufferPointer(rebasing: values[k * d ..< (k + 1) * d]))
            }
        }
        return out
    }

    /// The contribution of a step's minibatch as this shard applies it: its own user and item rows, positives and
    /// followed negatives, with local ids; the example count and loss stay those of the whole minibatch.
    func localContribution(_ c: MinibatchContribution) -> MinibatchContribution {
        if count == 1 { return c }
        return MinibatchContribution(examples: c.examples, lossSum: c.lossSum, users: localRows(c.users),
                                     items: localRows(c.items), positives: localIds(c.positives),
                                     trainedBankNegatives: localIds(c.trainedBankNegatives))
    }
}
