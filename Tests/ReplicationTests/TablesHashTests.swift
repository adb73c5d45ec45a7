import Kernels
import Replication
import Wire
import XCTest

final class TablesHashTests: XCTestCase {
    /// Changing any single float of any of the three tables changes the hash.
    func testEverySingleFloatMatters() {
        let (users, items, bank) = ReplicationFixtures.tables(users: 5, items: 4, dim: 3)
        let original = TablesHash.of(users: users, items: items, bank: bank)
        XCTAssertEqual(TablesHash.of(users: users.copy(), items: items.copy(), bank: bank.copy()), original,
                       "the hash is a function of the contents")
        var seen: Set<UInt64> = [original]
        for (name, table) in [("users", users), ("items", items), ("bank", bank)] {
            for index in 0 ..< table.values.count {
                let saved = table.values[index]
                table.withUnsafeMutableValues { $0[index] = saved.nextUp }
                let changed = TablesHash.of(users: users, items: items, bank: bank)
                XCTAssertNotEqual(changed, original, "\(name)[\(index)] changed by one ulp")
                seen.insert(changed)
                table.withUnsafeMutableValues { $0[index] = saved }
            }
        }
        XCTAssertEqual(seen.count, 1 + 15 + 12 + 12,
                       "every one-float change gives its own hash")
        XCTAssertEqual(TablesHash.of(users: users, items: items, bank: bank), original, "restored")
    }

    /// The tables are hashed in order: swapping items and bank (same shape) changes the hash.
    func testTableOrderMatters() {
        let (users, items, bank) = ReplicationFixtures.tables(users: 2, items: 3, dim: 2)
        XCTAssertNotEqual(TablesHash.of(users: users, items: items, bank: bank),
                          TablesHash.of(users: users, items: bank, bank: items))
    }

    /// 0 means "not computed" on the wire, so the hash is never 0 (all-zero tables included).
    func testNeverZero() {
        let zero = EmbeddingTable(rows: 0, dim: 1)
        XCTAssertNotEqual(TablesHash.of(users: zero, items: zero, bank: zero), 0)
        XCTAssertNotEqual(TablesHash.of(users: EmbeddingTable(rows: 3, dim: 2), items: EmbeddingTable(rows: 3, dim: 2),
                                         bank: EmbeddingTable(rows: 3, dim: 2)), 0)
    }

    /// A task's hash depends on its own rows only: the same from a STEP of it alone and from one it shares with
    /// another task (as after a coordinator's restart with other workers); any of its values changed, or a row
    /// missing, tells.
    func testATasksHashDependsOnItsRowsOnly() {
        let reads = TaskReads(users: [1, 4], items: [2], bank: [0, 3])
        func block(_ ids: [UInt32], _ base: Float) -> RowBlock {
            RowBlock(dim: 2, ids: ids, values: ids.flatMap { [base + Float($0), base - Float($0)] })
        }
        let alone = Step(step: 1, version: 3, users: block([1, 4], 0.5), items: block([2], 1.5),
                         bank: block([0, 3], -0.5), tasks: [])
        let shared = Step(step: 1, version: 3, users: block([0, 1, 4, 7], 0.5), items: block([2, 5], 1.5),
                          bank: block([0, 1, 3], -0.5), tasks: [])
        let hash = TablesHash.of(reads: reads, in: alone)
        XCTAssertNotNil(hash)
        XCTAssertEqual(TablesHash.of(reads: reads, in: shared), hash)
        var changed = shared
        changed.bank.values[5] = changed.bank.values[5].nextUp   // bank row 3's first value
        XCTAssertNotEqual(TablesHash.of(reads: reads, in: changed), hash)
        var other = shared
        other.users.values[0] += 1   // user 0: not the task's
        XCTAssertEqual(TablesHash.of(reads: reads, in: other), hash)
        XCTAssertNil(TablesHash.of(reads: TaskReads(users: [1, 4], items: [3], bank: []), in: shared), "item 3 missing")
        XCTAssertNotEqual(TablesHash.of(reads: TaskReads(users: [], items: [], bank: []), in: shared), 0)
    }
}
