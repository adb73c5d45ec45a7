import Kernels
import MemoryBank
import TestSupport
import XCTest

final class MemoryBankTests: XCTestCase {
    private func table(_ rows: [[Double]]) -> EmbeddingTable {
        EmbeddingTable(rows: rows.count, dim: rows[0].count, values: rows.flatMap { $0.map { Float($0) } })
    }

    func testMomentumUpdateMatchesGolden() throws {
        let g = try GoldenFile("momentum_update")
        let bankRows = g.matrix("bank"), items = g.matrix("item_embeddings"), m = g.number("momentum")
        for (k, row) in bankRows.enumerated() {   // the float64 reference first
            XCTAssertLessThan(maxRelativeError(LossReference.momentumUpdate(bank: row, item: items[k], momentum: m),
                                               g.matrix("updated_bank")[k]), 1e-9)
        }
        let bank = MemoryBank(table: table(bankRows), momentum: Float(m), version: 7)
        let ids = bankRows.indices.map { UInt32($0) }
        let delta = bank.update(itemIds: ids.reversed(), itemTable: table(items), newVersion: 8)
        let updated = bank.table.values.map { Double($0) }
        XCTAssertLessThan(maxRelativeError(updated, flatten(g.matrix("updated_bank"))), 1e-5)
        XCTAssertEqual(delta.ids, ids)
        XCTAssertEqual(delta.values, bank.table.values)
        XCTAssertEqual(bank.version, 8)
    }

    /// The golden uses m = 0.5, which cannot tell m from 1 − m: check an asymmetric momentum against the reference.
    func testAsymmetricMomentumMatchesReference() {
        var random = SeededRandom(seed: 3)
        let items = EmbeddingTable(rows: 5, dim: 7, normalStd: 1, random: &random)
        let bank = MemoryBank(initialItems: EmbeddingTable(rows: 5, dim: 7, normalStd: 1, random: &random), momentum: 0.9)
        let before = bank.table.copy()
        bank.update(itemIds: [1, 3], itemTable: items, newVersion: 1)
        for r in [1, 3] {
            let expected = LossReference.momentumUpdate(bank: before.row(r).map { Double($0) },
                                                        item: items.row(r).map { Double($0) }, momentum: 0.9)
            XCTAssertLessThan(maxRelativeError(bank.table.row(r).map { Double($0) }, expected), 1e-5, "row \(r)")
        }
    }

    func testInitialBankIsNormalisedItems() {
        let items = table([[3, 4], [0, -2], [1, 1]])
        let bank = MemoryBank(initialItems: items, momentum: 0.9)
        XCTAssertEqual(bank.version, 0)
        XCTAssertEqual(Array(bank.table.row(0)), [0.6, 0.8])
        XCTAssertEqual(Array(bank.table.row(1)), [0, -1])
        XCTAssertEqual(bank.table.row(2)[0], Float(0.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(Array(items.row(0)), [3, 4], "the item table is not modified")
    }

    /// Duplicates and order do not matter: each id moves once; other rows stay.
    func testDuplicateIdsMoveOnceAndUntouchedRowsStay() {
        var random = SeededRandom(seed: 1)
        let items = EmbeddingTable(rows: 10, dim: 6, normalStd: 1, random: &random)
        let start = EmbeddingTable(rows: 10, dim: 6, normalStd: 1, random: &random)
        let a = MemoryBank(initialItems: start, momentum: 0.5)
        let b = MemoryBank(initialItems: start, momentum: 0.5)
        let before = a.table.copy()
        let deltaA = a.update(itemIds: [7, 2, 7, 7, 4, 2], itemTable: items, newVersion: 1)
        let deltaB = b.update(itemIds: [2, 4, 7], itemTable: items, newVersion: 1)
        XCTAssertEqual(deltaA, deltaB)
        XCTAssertEqual(deltaA.ids, [2, 4, 7])
        XCTAssertEqual(a.table.values, b.table.values)
        for r in 0 ..< 10 where ![2, 4, 7].contains(r) { XCTAssertEqual(a.table.row(r), before.row(r), "row \(r)") }
        XCTAssertNotEqual(a.table.row(2), before.row(2))
        for r in [2, 4, 7] {
            let norm = a.table.row(r).reduce(0) { $0 + $1 * $1 }
            XCTAssertEqual(norm, 1, accuracy: 1e-5)
        }
    }

    /// The rows `update` returns are the bank's new rows of the step's items, each once, ascending: what the
    /// coordinator's next STEPs read from.
    func testUpdateReturnsTheNewRowsOfTheItems() {
        var random = SeededRandom(seed: 2)
        let items = EmbeddingTable(rows: 20, dim: 8, normalStd: 1, random: &random)
        let bank = MemoryBank(initialItems: items, momentum: 0.8)
        for step in 1 ... 5 {
            let itemTable = EmbeddingTable(rows: 20, dim: 8, normalStd: 1, random: &random)
            let ids = (0 ..< 6).map { _ in UInt32(random.nextInt(below: 20)) }
            let moved = bank.update(itemIds: ids, itemTable: itemTable, newVersion: UInt64(step))
            XCTAssertEqual(moved.ids, Array(Set(ids)).sorted())
            XCTAssertEqual(moved, bank.table.rows(moved.ids))
        }
        XCTAssertEqual(bank.version, 5)
    }
}
