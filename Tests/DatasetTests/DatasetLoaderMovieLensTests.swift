import Dataset
import XCTest

final class DatasetLoaderMovieLensTests: XCTestCase {
    // user 10: items 7 (t 300), 8 (t 100), 9 (t 200); user 20: items 8 (t 50), 7 (t 50, a tie), 5 (rating 1, t 10)
    private let udata = "10\t7\t5\t300\n20\t8\t4\t50\n10\t8\t3\t100\n20\t7\t4\t50\n10\t9\t2\t200\n20\t5\t1\t10\n"

    func testLeaveLastOutByTimestampWithTiesInFileOrder() throws {
        let dir = try ScratchDirectory()
        let path = try dir.write("u.data", udata)
        let data = try DatasetLoader.movieLens(path: path, split: .leaveLastOut)
        XCTAssertEqual(data.userNames, ["10", "20"])
        XCTAssertEqual(data.itemNames, ["7", "8", "9", "5"])
        XCTAssertEqual(data.userCount, 2)
        XCTAssertEqual(data.itemCount, 4)
        // user 10's latest is item 7 (t 300); user 20's are 8 and 7 at t 50: the later line (item 7) is the latest.
        XCTAssertEqual(data.testItems, [[0], [0]])
        XCTAssertEqual(data.trainUsers, [1, 0, 0, 1])
        XCTAssertEqual(data.trainItems, [1, 1, 2, 3], "training pairs stay in file order")
    }

    func testMinRatingFiltersBeforeRemapping() throws {
        let dir = try ScratchDirectory()
        let path = try dir.write("u.data", udata)
        let data = try DatasetLoader.movieLens(path: path, split: .leaveLastOut, minRating: 4)
        XCTAssertEqual(data.userNames, ["10", "20"])
        XCTAssertEqual(data.itemNames, ["7", "8"])
        XCTAssertEqual(data.testItems, [[], [0]], "a user with one rating keeps it for training")
        XCTAssertEqual(data.trainUsers, [0, 1])
        XCTAssertEqual(data.trainItems, [0, 1])
        XCTAssertDatasetError(try DatasetLoader.movieLens(path: path, split: .leaveLastOut, minRating: 6),
                              "\(path): no rating is at least 6.0")
    }

    func testRatioSplit() throws {
        let dir = try ScratchDirectory()
        // One user, five ratings at times 5, 1, 4, 2, 3: the earliest 60 % (3) train, the 2 latest test.
        let path = try dir.write("ratings.dat", "1::1::5::5\n1::2::5::1\n1::3::5::4\n1::4::5::2\n1::5::5::3\n")
        let data = try DatasetLoader.movieLens(path: path, split: .ratio(0.6))
        XCTAssertEqual(data.itemNames, ["1", "2", "3", "4", "5"])
        XCTAssertEqual(data.trainItems, [1, 3, 4])
        XCTAssertEqual(data.testItems, [[2, 0]], "test items in time order")
        let all = try DatasetLoader.movieLens(path: path, split: .ratio(1))
        XCTAssertEqual(all.trainCount, 5)
        XCTAssertEqual(all.testItems, [[]])
    }

    func testRatingsCSVWithHeader() throws {
        let dir = try ScratchDirectory()
        let path = try dir.write("ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n")
        let data = try DatasetLoader.movieLens(path: path, split: .leaveLastOut)
        XCTAssertEqual(data.itemNames, ["31", "1029"])
        XCTAssertEqual(data.trainItems, [0])
        XCTAssertEqual(data.testItems, [[1]])
    }

    func testMalformedLines() throws {
        let dir = try ScratchDirectory()
        func check(_ text: String, _ expected: String, line: UInt = #line) throws {
            let path = try dir.write("u.data", text)
            XCTAssertDatasetError(try DatasetLoader.movieLens(path: path, split: .leaveLastOut), "\(path):\(expected)", line: line)
        }
        try check("1\t2\t3\t4\n1\t2\t3\n", "2: expected 4 fields (user, item, rating, timestamp) separated by tabs, found 3")
        try check("1\t2\t3\t4\nx\t2\t3\t4\n", "2: user id 'x' is not a non-negative integer")
        try check("1\t2\t3\t4\n\n1\t-2\t3\t4\n", "3: item id '-2' is negative")
        try check("1\t\t3\t4\n", "1: empty item id")
        try check("1\t2\tgood\t4\n", "1: rating 'good' is not a number")
        try check("1\t2\t3\tyesterday\n", "1: timestamp 'yesterday' is not a number")
        try check("1::2::3::4\n1::2::3\n", "2: expected 4 fields (user, item, rating, timestamp) separated by '::', found 3")
        let empty = try dir.write("empty.data", "")
        XCTAssertDatasetError(try DatasetLoader.movieLens(path: empty, split: .leaveLastOut), "\(empty): the file is empty")
        XCTAssertDatasetError(try DatasetLoader.movieLens(path: dir.path + "/nope", split: .leaveLastOut),
                              "cannot read \(dir.path)/nope: no such file or directory")
    }

    /// ml-100k: 943 users, 1,682 items, 100,000 ratings; leave-last-out holds out one rating per user.
    func testML100K() throws {
        let path = try sharedDataset("ml-100k/u.data")
        let data = try DatasetLoader.movieLens(path: path, split: .leaveLastOut)
        XCTAssertEqual(data.name, "ml-100k")
        XCTAssertEqual(data.userCount, 943)
        XCTAssertEqual(data.itemCount, 1682)
        XCTAssertEqual(data.trainCount + data.testCount, 100_000)
        XCTAssertEqual(data.testCount, 943)
        XCTAssertEqual(data.userNames?.first, "196", "first line of u.data is 196 242 3 881250949")
        XCTAssertEqual(data.itemNames?.first, "242")
        let positive = try DatasetLoader.movieLens(path: path, split: .ratio(0.8), minRating: 4)
        XCTAssertEqual(positive.trainCount + positive.testCount, 55_375, "ratings of 4 and 5 in ml-100k")
    }
}
