import Dataset
import XCTest

final class DatasetLoaderDelimitedTests: XCTestCase {
    func testCSVWithHeaderRemapsStringIds() throws {
        let dir = try ScratchDirectory()
        let path = try dir.write("clicks.csv", "user_id,item_id,timestamp\nalice,book,3\nbob,\"pen\",1\nalice, pen ,2\nbob,book,5\ncarol,ink,7\n")
        let data = try DatasetLoader.delimited(path: path, split: .leaveLastOut)
        XCTAssertEqual(data.name, "clicks")
        XCTAssertEqual(data.userNames, ["alice", "bob", "carol"])
        XCTAssertEqual(data.itemNames, ["book", "pen", "ink"])
        // alice: pen (2), book (3) → book is test; bob: pen (1), book (5) → book is test; carol keeps her one item.
        XCTAssertEqual(data.testItems, [[0], [0], []])
        XCTAssertEqual(data.trainUsers, [1, 0, 2])
        XCTAssertEqual(data.trainItems, [1, 1, 2])

        try data.writeIdMappings(to: dir.path + "/mappings")
        XCTAssertEqual(try dir.read("mappings/users.tsv"), "0\talice\n1\tbob\n2\tcarol\n")
        XCTAssertEqual(try dir.read("mappings/items.tsv"), "0\tbook\n1\tpen\n2\tink\n")
    }

    func testTSVWithoutTimestampSplitsByFileOrder() throws {
        let dir = try ScratchDirectory()
        let path = try dir.write("log.tsv", "u1\ti1\nu1\ti2\nu2\ti1\nu1\ti3\nu2\ti3\n")
        let data = try DatasetLoader.delimited(path: path, split: .leaveLastOut)
        XCTAssertEqual(data.userNames, ["u1", "u2"])
        XCTAssertEqual(data.itemNames, ["i1", "i2", "i3"])
        XCTAssertEqual(data.testItems, [[2], [2]])
        XCTAssertEqual(data.trainItems, [0, 1, 0])
    }

    func testDelimiterAndHeaderSniffing() throws {
        let dir = try ScratchDirectory()
        // No known extension, a tab on line 1; a header recognised by its timestamp column alone.
        let path = try dir.write("log.txt", "who\twhat\twhen\n7\t8\t100\n7\t9\t50\n")
        let data = try DatasetLoader.delimited(path: path, split: .leaveLastOut)
        XCTAssertEqual(data.userNames, ["7"])
        XCTAssertEqual(data.itemNames, ["8", "9"])
        XCTAssertEqual(data.testItems, [[0]], "item 8 at time 100 is the latest")
        // Comma sniffed; numeric first line is data, not a header.
        let plain = try dir.write("plain", "1,2\n3,4\n")
        XCTAssertEqual(try DatasetLoader.delimited(path: plain, split: .ratio(1)).trainCount, 2)
    }

    func testMalformedLines() throws {
        let dir = try ScratchDirectory()
        func check(_ name: String, _ text: String, _ expected: String, line: UInt = #line) throws {
            let path = try dir.write(name, text)
            XCTAssertDatasetError(try DatasetLoader.delimited(path: path, split: .leaveLastOut), "\(path):\(expected)", line: line)
        }
        try check("a.csv", "u,i,1\nu,i\n", "2: expected 3 fields like line 1, found 2")
        try check("a.csv", "user,item\nu,i\n\nu,i,3\n", "4: expected 2 fields like line 2, found 3")
        try check("a.csv", "u,i,1\n,i,2\n", "2: empty user id")
        try check("a.csv", "u,i,1\nv,\"\",2\n", "2: empty item id")
        try check("a.csv", "u,i,1\nv,j,soon\n", "2: timestamp 'soon' is not a number")
        try check("a.csv", "u,i,1,5\n", "1: expected user,item[,timestamp], found 4 fields")
        try check("a.tsv", "u\ti\tx\ty\n", "1: expected user<TAB>item[<TAB>timestamp], found 4 fields")
        try check("a", "\nu;i\n", "2: cannot tell the delimiter: the line has neither a comma nor a tab")
        let empty = try dir.write("e.csv", "")
        XCTAssertDatasetError(try DatasetLoader.delimited(path: empty, split: .leaveLastOut), "\(empty): the file is empty")
        let headerOnly = try dir.write("h.csv", "user,item\n")
        XCTAssertDatasetError(try DatasetLoader.delimited(path: headerOnly, split: .leaveLastOut),
                              "\(headerOnly): the file has a header but no interactions")
    }
}
