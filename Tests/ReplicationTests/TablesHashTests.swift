import Kernels
import Replication
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
}
