import Dataset
import XCTest

final class DatasetLoaderLightGCNTests: XCTestCase {
    private func load(train: String, test: String, userCount: Int? = nil, itemCount: Int? = nil) throws -> InteractionData {
        let dir = try ScratchDirectory()
        try dir.write("train.txt", train)
        try dir.write("test.txt", test)
        return try DatasetLoader.lightGCN(directory: dir.path, userCount: userCount, itemCount: itemCount)
    }

    private func expectError(train: String, test: String = "0 1\n", _ expected: (_ dir: String) -> String,
                             userCount: Int? = nil, itemCount: Int? = nil, line: UInt = #line) throws {
        let dir = try ScratchDirectory()
        try dir.write("train.txt", train)
        try dir.write("test.txt", test)
        XCTAssertDatasetError(try DatasetLoader.lightGCN(directory: dir.path, userCount: userCount, itemCount: itemCount),
                              expected(dir.path), line: line)
    }

    func testReadsPairsInFileOrderAndCountsFromBothFiles() throws {
        let data = try load(train: "0 3 1\n2\t0  4 \r\n\n1 2\n", test: "0 5\n3 1 6\n")
        XCTAssertEqual(data.trainUsers, [0, 0, 2, 2, 1])
        XCTAssertEqual(data.trainItems, [3, 1, 0, 4, 2])
        XCTAssertEqual(data.trainCount, 5)
        XCTAssertEqual(data.userCount, 4, "user 3 appears only in test.txt")
        XCTAssertEqual(data.itemCount, 7, "item 6 appears only in test.txt")
        XCTAssertEqual(data.testItems, [[5], [], [], [1, 6]])
        XCTAssertEqual(data.validationItems, [[], [], [], []])
        XCTAssertNil(data.userNames)
        XCTAssertNil(data.itemNames)
        XCTAssertEqual(data.itemPopularity(), [1, 1, 1, 1, 1, 0, 0])
    }

    func testFinalLineWithoutNewline() throws {
        let data = try load(train: "0 1\n1 0 1", test: "1 2")
        XCTAssertEqual(data.trainItems, [1, 0, 1])
        XCTAssertEqual(data.testItems, [[], [2]])
    }

    func testDeclaredCounts() throws {
        let data = try load(train: "0 1\n", test: "0 2\n", userCount: 5, itemCount: 10)
        XCTAssertEqual(data.userCount, 5)
        XCTAssertEqual(data.itemCount, 10)
        try expectError(train: "0 1\n3 9\n", { "\($0)/train.txt:2: item id 9 is not below the declared item count 5" }, itemCount: 5)
        try expectError(train: "0 1\n", test: "0 1\n4 1\n", { "\($0)/test.txt:2: user id 4 is not below the declared user count 2" }, userCount: 2)
    }

    func testMalformedLinesNameFileAndLine() throws {
        try expectError(train: "0 1\n1 x2\n", { "\($0)/train.txt:2: item id 'x2' is not a non-negative integer" })
        try expectError(train: "0 1\n\n1 2.5\n", { "\($0)/train.txt:3: item id '2.5' is not a non-negative integer" })
        try expectError(train: "0 1\nu1 2\n", { "\($0)/train.txt:2: user id 'u1' is not a non-negative integer" })
        try expectError(train: "0 1 -3\n", { "\($0)/train.txt:1: item id '-3' is negative" })
        try expectError(train: "-1 3\n", { "\($0)/train.txt:1: user id '-1' is negative" })
        try expectError(train: "0 1\n1\n", { "\($0)/train.txt:2: user 1 has no items" })
        try expectError(train: "0 99999999999\n", { "\($0)/train.txt:1: item id '99999999999' is too large (at most 4294967294)" })
        try expectError(train: "0 1\n", test: "0 1\n1 2\n2 -\n", { "\($0)/test.txt:3: item id '-' is not a non-negative integer" })
    }

    func testEmptyAndMissingFiles() throws {
        try expectError(train: "", { "\($0)/train.txt: the file is empty" })
        try expectError(train: "\n  \n", { "\($0)/train.txt: the file has no interactions" })
        try expectError(train: "0 1\n", test: "", { "\($0)/test.txt: the file is empty" })
        let dir = try ScratchDirectory()
        try dir.write("train.txt", "0 1\n")
        XCTAssertDatasetError(try DatasetLoader.lightGCN(directory: dir.path),
                              "cannot read \(dir.path)/test.txt: no such file or directory")
        try FileManager.default.createDirectory(atPath: dir.path + "/test.txt", withIntermediateDirectories: false)
        XCTAssertDatasetError(try DatasetLoader.lightGCN(directory: dir.path),
                              "cannot read \(dir.path)/test.txt: it is a directory")
    }

    func testNameIsTheDirectory() throws {
        let dir = try ScratchDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/tiny", withIntermediateDirectories: false)
        try dir.write("tiny/train.txt", "0 1\n")
        try dir.write("tiny/test.txt", "0 0\n")
        XCTAssertEqual(try DatasetLoader.lightGCN(directory: dir.path + "/tiny/").name, "tiny")
    }

    /// The published counts of the Gowalla split (29,858 users, 40,981 items, 810,128 train, 217,242 test).
    func testGowallaCounts() throws {
        let data = try DatasetLoader.lightGCN(directory: try sharedDataset("gowalla"))
        XCTAssertEqual(data.userCount, 29_858)
        XCTAssertEqual(data.itemCount, 40_981)
        XCTAssertEqual(data.trainCount, 810_128)
        XCTAssertEqual(data.testCount, 217_242)
        XCTAssertEqual(data.name, "gowalla")
    }

    /// The counts of ml-1m-processed (6,022 users, 3,043 items, 796,244 train, 99,455 test).
    func testML1MProcessedCounts() throws {
        let data = try DatasetLoader.lightGCN(directory: try sharedDataset("ml-1m-processed"))
        XCTAssertEqual(data.userCount, 6_022)
        XCTAssertEqual(data.itemCount, 3_043)
        XCTAssertEqual(data.trainCount, 796_244)
        XCTAssertEqual(data.testCount, 99_455)
        XCTAssertEqual(data.name, "ml-1m-processed")
    }
}
