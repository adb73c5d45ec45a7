import Dataset
import XCTest

final class InteractionDataTests: XCTestCase {
    private func sample() -> InteractionData {
        // user 0: items 0..9 (10 distinct); user 1: 3, 4, 3 (2 distinct); user 2: 5, 6, 7, 8 (4 distinct)
        var users = [UInt32](), items = [UInt32]()
        for i in 0 ..< 10 { users.append(0); items.append(UInt32(i)) }
        users += [1, 2, 1, 2, 1, 2, 2]
        items += [3, 5, 4, 6, 3, 7, 8]
        return InteractionData(name: "t", userCount: 3, itemCount: 12, trainUsers: users, trainItems: items,
                               testItems: [[10], [11], []])
    }

    func testPopularityAndGrouping() {
        let data = sample()
        XCTAssertEqual(data.itemPopularity(), [1, 1, 1, 3, 2, 2, 2, 2, 2, 1, 0, 0])
        let byUser = data.trainItemsByUser()
        XCTAssertEqual(Array(byUser[1]), [3, 4, 3])
        XCTAssertEqual(Array(byUser[2]), [5, 6, 7, 8])
        XCTAssertEqual(byUser.count(of: 0), 10)
        XCTAssertEqual(ItemsByUser([[1], [], [2, 3]]).offsets, [0, 1, 1, 3])
    }

    func testCarveValidationMovesASeededFraction() {
        let data = sample()
        let carved = data.carveValidation(fraction: 0.3, seed: 7)
        XCTAssertEqual(carved.validationItems[0].count, 3, "round(0.3 · 10)")
        XCTAssertEqual(carved.validationItems[1], [], "fewer than 3 distinct items: none moves")
        XCTAssertEqual(carved.validationItems[2].count, 1, "round(0.3 · 4)")
        XCTAssertEqual(carved.testItems, data.testItems)
        XCTAssertEqual(carved.trainCount + carved.validationCount, data.trainCount)
        // Moved items leave training; the remaining pairs keep their file order.
        for u in 0 ..< 3 {
            let train = Set(carved.trainItemsByUser()[u])
            XCTAssertTrue(train.isDisjoint(with: carved.validationItems[u]))
            XCTAssertEqual(train.union(carved.validationItems[u]), Set(data.trainItemsByUser()[u]))
        }
        let kept = zip(data.trainUsers, data.trainItems).filter { !carved.validationItems[Int($0.0)].contains($0.1) }
        XCTAssertEqual(carved.trainUsers, kept.map(\.0))
        XCTAssertEqual(carved.trainItems, kept.map(\.1))
        // Same seed, same carve; another seed, another carve.
        XCTAssertEqual(data.carveValidation(fraction: 0.3, seed: 7), carved)
        let others = (8 ..< 20).map { data.carveValidation(fraction: 0.3, seed: UInt64($0)).validationItems[0] }
        XCTAssertTrue(others.contains { $0 != carved.validationItems[0] })
    }

    func testCarveValidationKeepsAtLeastOneItem() {
        let carved = sample().carveValidation(fraction: 0.99, seed: 1)
        XCTAssertEqual(carved.validationItems[0].count, 9)
        XCTAssertEqual(carved.validationItems[2].count, 3)
        XCTAssertEqual(carved.trainItemsByUser().count(of: 2), 1)
        XCTAssertEqual(sample().carveValidation(fraction: 0, seed: 1), sample())
    }

    func testCarveValidationMovesEveryCopyOfAnItem() {
        var data = sample()
        data.trainUsers += [0, 0]
        data.trainItems += [2, 2]
        for seed in 0 ..< 20 as Range<UInt64> {
            let carved = data.carveValidation(fraction: 0.5, seed: seed)
            let train = Set(carved.trainItemsByUser()[0])
            XCTAssertTrue(train.isDisjoint(with: carved.validationItems[0]), "seed \(seed)")
        }
    }

    func testIdentityMappingsWhenIdsWereDense() throws {
        let dir = try ScratchDirectory()
        try sample().writeIdMappings(to: dir.path)
        XCTAssertEqual(try dir.read("users.tsv"), "0\t0\n1\t1\n2\t2\n")
        XCTAssertEqual(try dir.read("items.tsv").split(separator: "\n").last, "11\t11")
        XCTAssertThrowsError(try sample().writeIdMappings(to: dir.path + "/users.tsv/x")) { error in
            XCTAssertEqual("\(error)", "cannot write \(dir.path)/users.tsv/x: not a directory")
        }
    }
}
