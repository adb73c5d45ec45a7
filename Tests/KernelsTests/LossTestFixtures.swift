import Kernels
import TestSupport
import XCTest

/// Shared fixtures of the loss tests: tables from golden matrices, random minibatches, per-id gradient sums.
enum LossFixtures {
    /// A table whose row ids[k] holds rows[k] (other rows zero).
    static func table(_ rows: [[Double]], ids: [UInt32]? = nil, rowCount: Int? = nil) -> EmbeddingTable {
        let d = rows[0].count
        let ids = ids ?? rows.indices.map { UInt32($0) }
        let n = rowCount ?? (Int(ids.max()!) + 1)
        let table = EmbeddingTable(rows: n, dim: d)
        for (k, id) in ids.enumerated() { table.setRow(Int(id), rows[k].map { Float($0) }) }
        return table
    }

    static func rows(_ table: EmbeddingTable, _ ids: [UInt32]) -> [[Double]] {
        ids.map { table.row(Int($0)).map { Double($0) } }
    }

    /// The gradient row of each id (zero if absent), flattened.
    static func dense(_ sparse: SparseRows, ids: [UInt32]) -> [Double] {
        ids.flatMap { id -> [Double] in
            guard let k = sparse.ids.firstIndex(of: id) else { return [Double](repeating: 0, count: sparse.dim) }
            return sparse.row(k).map { Double($0) }
        }
    }

    /// Per-row reference gradients summed by id: (sorted unique ids, flattened rows).
    static func sumById(ids: [UInt32], rows: [[Double]]) -> (ids: [UInt32], values: [Double]) {
        var sums: [UInt32: [Double]] = [:]
        for (id, row) in zip(ids, rows) {
            sums[id] = zip(sums[id] ?? [Double](repeating: 0, count: row.count), row).map { $0 + $1 }
        }
        let sorted = sums.keys.sorted()
        return (sorted, sorted.flatMap { sums[$0]! })
    }

    static func asDouble(_ s: SparseRows) -> [Double] { s.values.map { Double($0) } }

    /// Row r (of width d) of a flat float64 table.
    static func row(_ table: [Double], _ r: Int, dim d: Int) -> [Double] { Array(table[r * d ..< (r + 1) * d]) }

    /// cos(a, b) in float64.
    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let dot = zip(a, b).map(*).reduce(0, +)
        return dot / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
    }

    /// The central difference (f(x + h) − f(x − h)) / 2h of f at `table` in coordinate `index`, h = 1e-5.
    static func centralDifference(_ table: inout [Double], _ index: Int, _ f: ([Double]) -> Double) -> Double {
        let h = 1e-5, saved = table[index]
        table[index] = saved + h
        let up = f(table)
        table[index] = saved - h
        let down = f(table)
        table[index] = saved
        return (up - down) / (2 * h)
    }

    /// The computer's coalesced gradients against the reference's per-row ones (2e-3 relative): users, and items
    /// (the positives, and with live negatives the negative rows too, whose gradients join the positives').
    static func assertGradientsMatch(_ out: MinibatchGradient, _ reference: LossReference.Result, problem p: Problem,
                                     negatives: [UInt32], live: Bool, _ context: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        let users = sumById(ids: p.users, rows: reference.users)
        let items = live
            ? sumById(ids: p.items + negatives, rows: reference.positives + reference.negatives)
            : sumById(ids: p.items, rows: reference.positives)
        XCTAssertEqual(out.users.ids, users.ids, context, file: file, line: line)
        XCTAssertEqual(out.items.ids, items.ids, context, file: file, line: line)
        XCTAssertLessThan(maxRelativeError(asDouble(out.users), users.values), 2e-3, context, file: file, line: line)
        XCTAssertLessThan(maxRelativeError(asDouble(out.items), items.values), 2e-3, context, file: file, line: line)
    }

    /// A random minibatch with repeated users and items and accidental hits: ids drawn from small ranges.
    struct Problem {
        var users: [UInt32], items: [UInt32], negatives: [UInt32]
        var userTable: EmbeddingTable, itemTable: EmbeddingTable, bank: EmbeddingTable
    }

    static func randomProblem(batch B: Int, negatives K: Int, dim d: Int, seed: UInt64) -> Problem {
        var random = SeededRandom(seed: seed)
        let userCount = max(1, B / 2 + 1), itemCount = max(2, B + K / 4)
        let users = (0 ..< B).map { _ in UInt32(random.nextInt(below: userCount)) }
        let items = (0 ..< B).map { _ in UInt32(random.nextInt(below: itemCount)) }
        // Half the negatives from the batch's positives: accidental hits guaranteed.
        let negatives = (0 ..< K).map { k in
            k % 2 == 0 ? items[random.nextInt(below: B)] : UInt32(random.nextInt(below: itemCount))
        }
        let userTable = EmbeddingTable(rows: userCount, dim: d, normalStd: 1, random: &random)
        let itemTable = EmbeddingTable(rows: itemCount, dim: d, normalStd: 1, random: &random)
        var bankValues = EmbeddingTable(rows: itemCount, dim: d, normalStd: 1, random: &random).values
        normalizeRows(&bankValues, dim: d)
        return Problem(users: users, items: items, negatives: negatives, userTable: userTable,
                       itemTable: itemTable, bank: EmbeddingTable(rows: itemCount, dim: d, values: bankValues))
    }
}
