import Foundation
@testable import Kernels
import RunSettings
import TestSupport
import XCTest

/// Hard negatives mined from the bank: each pair scores, beside the K shared negatives, the M items of the
/// minibatch's pool closest to its user on the bank, its user's training items and its positive left out. The
/// choice is checked against a float64 choice written here, the loss and gradients against the float64 reference
/// (whose row negatives are checked against central finite differences), for every block size and thread count.
final class HardNegativesTests: XCTestCase {
    let blockings = [(1, 1), (3, 1), (1000, 1), (4, 3), (1000, 2)]

    func settings(_ M: Int, pool: Int, similarity: Similarity = .cosine, tauPlus: Float? = 0.122,
                  trained: Bool = false, skip: Int = 0) -> LossSettings {
        LossSettings(kind: .bankInfoNCE, similarity: similarity, temperature: 0.1, negatives: 1,
                     liveNegatives: !trained, positiveTemperature: tauPlus, trainedBankNegatives: trained,
                     hardNegatives: M, hardNegativePool: pool, hardNegativeSkip: skip)
    }

    /// Every user's training items: a few of the items, drawn from the seed, with each pair's positive.
    func seenItems(_ p: LossFixtures.Problem, seed: UInt64) -> SeenItems {
        var random = SeededRandom(seed: seed)
        var users = p.users, items = p.items
        for u in 0 ..< p.userTable.rows {
            for _ in 0 ..< 3 {
                users.append(UInt32(u))
                items.append(UInt32(random.nextInt(below: p.itemTable.rows)))
            }
        }
        return SeenItems(users: users, items: items, userCount: p.userTable.rows, itemCount: p.itemTable.rows)
    }

    /// Each pair's hard negatives chosen in float64: the pool items by descending similarity to the user on the bank
    /// (ties to the lower pool position), the pair's positive and its user's seen items left out, the first `skip`
    /// passed over, at most M.
    func choose(_ p: LossFixtures.Problem, pool: [UInt32], seen: SeenItems, M: Int, similarity: Similarity,
                skip: Int = 0) -> [[UInt32]]
    {
        p.users.indices.map { b in
            let u = LossFixtures.rows(p.userTable, [p.users[b]])[0]
            let user = Int(p.users[b])
            let excluded = Set(seen.items[Int(seen.offsets[user]) ..< Int(seen.offsets[user + 1])] + [p.items[b]])
            let candidates = pool.indices.filter { !excluded.contains(pool[$0]) }
            let scores = candidates.map { c -> Double in
                let v = LossFixtures.rows(p.bank, [pool[c]])[0]
                return similarity == .cosine ? LossFixtures.cosine(u, v) : zip(u, v).map(*).reduce(0, +)
            }
            let order = candidates.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            return order.dropFirst(skip).prefix(M).map { pool[candidates[$0]] }
        }
    }

    func compute(_ settings: LossSettings, _ p: LossFixtures.Problem, pool: [UInt32], seen: SeenItems,
                 blockRows: Int, threads: Int) -> MinibatchGradient {
        let computer = MinibatchGradientComputer(settings: settings, dim: p.userTable.dim, seenItems: seen)
        computer.bankBlockRows = blockRows
        computer.kernelThreads = threads
        return computer.compute(users: p.users, items: p.items, userTable: p.userTable, itemTable: p.itemTable,
                                bank: p.bank, negatives: p.negatives, negativeLogQ: nil, pool: pool)
    }

    /// The loss and the gradients of every row, hard negatives' included (named by their item ids), equal the
    /// reference with the float64 choice, for cosine and dot similarity, with and without τ⁺, with live and with
    /// trained bank negatives, and pools that leave some pairs fewer than M candidates.
    func testChosenHardNegativesAndTheirGradientsMatchTheReference() {
        let blasThreads = BLAS.threads
        BLAS.setThreads(1)
        defer { BLAS.setThreads(blasThreads) }
        var random = SeededRandom(seed: 3)
        let cases: [(M: Int, pool: Int, similarity: Similarity, tauPlus: Float?, trained: Bool, skip: Int)] = [
            (4, 40, .cosine, 0.122, false, 0), (8, 9, .cosine, nil, false, 0), (3, 60, .dot, 0.4, true, 0),
            (1, 25, .cosine, 0.12, true, 0), (4, 40, .cosine, 0.122, false, 3), (5, 12, .cosine, nil, true, 6),
        ]
        for (c, setup) in cases.enumerated() {
            let B = 5 + random.nextInt(below: 30), K = 1 + random.nextInt(below: 50), d = 3 + random.nextInt(below: 20)
            let p = LossFixtures.randomProblem(batch: B, negatives: K, dim: d, seed: UInt64(90 + c))
            let pool = Array(Set((0 ..< setup.pool).map { _ in UInt32(random.nextInt(below: p.itemTable.rows)) })).sorted()
            let seen = seenItems(p, seed: UInt64(c))
            var s = settings(setup.M, pool: setup.pool, similarity: setup.similarity, tauPlus: setup.tauPlus,
                             trained: setup.trained, skip: setup.skip)
            s.negatives = K
            if setup.similarity == .dot { s.temperature = 2 }
            let chosen = choose(p, pool: pool, seen: seen, M: setup.M, similarity: setup.similarity, skip: setup.skip)
            let negativeTable = setup.trained ? p.bank : p.itemTable
            let reference = LossReference.contrastive(
                users: LossFixtures.rows(p.userTable, p.users), positives: LossFixtures.rows(p.itemTable, p.items),
                negatives: LossFixtures.rows(negativeTable, p.negatives), similarity: setup.similarity,
                temperature: Double(s.temperature), inBatch: false, positiveIds: p.items, negativeIds: p.negatives,
                positiveTemperature: setup.tauPlus.map(Double.init),
                rowNegatives: chosen.map { LossFixtures.rows(p.bank, $0) })
            let items = LossFixtures.sumById(ids: p.items + p.negatives + chosen.flatMap { $0 },
                                             rows: reference.positives + reference.negatives
                                                 + reference.rowNegatives.flatMap { $0 })
            let users = LossFixtures.sumById(ids: p.users, rows: reference.users)
            XCTAssertTrue(chosen.contains { $0.count < setup.M } || setup.pool > 20, "case \(c) leaves some pairs short")
            if setup.skip > 0 {
                XCTAssertNotEqual(chosen, choose(p, pool: pool, seen: seen, M: setup.M, similarity: setup.similarity),
                                  "case \(c): passing over the closest changes the choice")
            }
            var first: MinibatchGradient?
            for (rows, threads) in blockings {
                let context = "case \(c) B=\(B) K=\(K) d=\(d) block rows \(rows) threads \(threads)"
                let out = compute(s, p, pool: pool, seen: seen, blockRows: rows, threads: threads)
                XCTAssertEqual(out.lossSum, reference.lossSum, accuracy: 1e-4 * abs(reference.lossSum) + 1e-5, context)
                XCTAssertEqual(out.users.ids, users.ids, context)
                XCTAssertEqual(out.items.ids, items.ids, context)
                XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.users), users.values), 2e-3, context)
                XCTAssertLessThan(maxRelativeError(LossFixtures.asDouble(out.items), items.values), 2e-3, context)
                if rows == 1 && threads == 1 { first = out }
            }
            XCTAssertEqual(compute(s, p, pool: pool, seen: seen, blockRows: 1, threads: 1).items, first?.items,
                           "the same blocking gives the same bits")
        }
    }

    /// Without hard negatives the pool is ignored and nothing changes: the same bits as a loss that never had one.
    func testAnEmptyPoolChangesNothing() {
        let p = LossFixtures.randomProblem(batch: 9, negatives: 12, dim: 6, seed: 4)
        var plain = settings(0, pool: 0)
        plain.negatives = 12
        let seen = seenItems(p, seed: 1)
        let without = compute(plain, p, pool: [], seen: seen, blockRows: 4, threads: 1)
        var hard = settings(4, pool: 10)
        hard.negatives = 12
        let empty = compute(hard, p, pool: [], seen: seen, blockRows: 4, threads: 1)
        XCTAssertEqual(without.lossSum, empty.lossSum)
        XCTAssertEqual(without.items, empty.items)
        XCTAssertEqual(without.users, empty.users)
    }

    /// The selection keeps the highest scores above −∞, highest first, ties to the lower position.
    func testKeepHighestOrdersTheBestAndBreaksTiesByPosition() {
        let scores: [Float] = [0.5, -.infinity, 0.9, 0.5, 0.1, 0.9, .nan, 0.7]
        var kept = [Int32](repeating: -1, count: 4)
        XCTAssertEqual(MinibatchGradientComputer.keepHighest(scores, count: scores.count, into: &kept, capacity: 4), 4)
        XCTAssertEqual(kept, [2, 5, 7, 0])
        var all = [Int32](repeating: -1, count: 9)
        XCTAssertEqual(MinibatchGradientComputer.keepHighest(scores, count: scores.count, into: &all, capacity: 9), 6,
                       "−∞ and NaN are never kept")
        XCTAssertEqual(Array(all.prefix(6)), [2, 5, 7, 0, 3, 4])
    }

    /// On rows long enough for the eight-at-a-time scan, with ties, −∞, NaN and a tail shorter than eight, the
    /// selection equals a sort by (score descending, position ascending) of the scores above −∞.
    func testKeepHighestOnLongRowsEqualsASortedChoice() {
        var random = SeededRandom(seed: 31)
        for count in [7, 8, 9, 64, 2045, 2048] {
            // Scores from a few values (many ties), some −∞ and NaN, in a rising run at the end: late entries.
            let scores: [Float] = (0 ..< count).map { c in
                let r = random.nextUnit()
                if r < 0.05 { return -.infinity }
                if r < 0.08 { return .nan }
                return Float(Int(random.nextUnit() * 50)) / 50 + (c > count - 20 ? 1 : 0)
            }
            let order = scores.indices.filter { scores[$0] > -.infinity }
                .sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            for capacity in [1, 5, 40, 3000] {
                var kept = [Int32](repeating: -1, count: capacity)
                let n = MinibatchGradientComputer.keepHighest(scores, count: count, into: &kept, capacity: capacity)
                XCTAssertEqual(n, Swift.min(capacity, order.count), "count \(count), capacity \(capacity)")
                XCTAssertEqual(kept.prefix(n).map(Int.init), Array(order.prefix(n)), "count \(count), capacity \(capacity)")
            }
        }
        var none: [Int32] = []
        XCTAssertEqual(MinibatchGradientComputer.keepHighest([1, 2], count: 2, into: &none, capacity: 0), 0)
    }

    /// The reference's row negatives against central finite differences of its own loss: d loss/d h_bm and
    /// d loss/d u_b with the row negatives among the columns.
    func testReferenceRowNegativeGradientsMatchFiniteDifferences() {
        var random = SeededRandom(seed: 12)
        let d = 4
        func rows(_ n: Int) -> [[Double]] { (0 ..< n).map { _ in (0 ..< d).map { _ in random.nextGaussian() } } }
        let users = rows(3), positives = rows(3), negatives = rows(2)
        let own = [rows(2), [], rows(3)]
        for (similarity, tauPlus) in [(Similarity.cosine, 0.3 as Double?), (.dot, nil)] {
            func loss(_ u: [[Double]], _ h: [[[Double]]]) -> Double {
                LossReference.contrastive(users: u, positives: positives, negatives: negatives, similarity: similarity,
                                          temperature: 0.5, inBatch: false, positiveTemperature: tauPlus,
                                          rowNegatives: h).lossSum
            }
            let result = LossReference.contrastive(
                users: users, positives: positives, negatives: negatives, similarity: similarity, temperature: 0.5,
                inBatch: false, positiveTemperature: tauPlus, rowNegatives: own)
            XCTAssertEqual(result.lossSum, loss(users, own))
            let h = 1e-6
            for b in own.indices {
                for m in own[b].indices {
                    for j in 0 ..< d {
                        var up = own, down = own
                        up[b][m][j] += h
                        down[b][m][j] -= h
                        let expected = (loss(users, up) - loss(users, down)) / (2 * h)
                        XCTAssertEqual(result.rowNegatives[b][m][j], expected, accuracy: 1e-5 + 1e-5 * abs(expected))
                    }
                }
                for j in 0 ..< d {
                    var up = users, down = users
                    up[b][j] += h
                    down[b][j] -= h
                    let expected = (loss(up, own) - loss(down, own)) / (2 * h)
                    XCTAssertEqual(result.users[b][j], expected, accuracy: 1e-5 + 1e-5 * abs(expected))
                }
            }
        }
    }
}
