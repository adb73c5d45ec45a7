import Coordinator
import Dataset
import Foundation
import Kernels
import XCTest

final class RecommenderTests: XCTestCase {
    private var run = ""

    /// A run directory as the coordinator leaves it: 3 users (u-a, u-b, u-c), 5 items (i0…i4), d = 2.
    override func setUpWithError() throws {
        run = FileManager.default.temporaryDirectory.path + "/recommend-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let data = InteractionData(name: "tiny", userCount: 3, itemCount: 5, trainUsers: [0, 0, 1, 0],
                                   trainItems: [2, 0, 3, 2], testItems: [[4], [], []], validationItems: [[], [1], []],
                                   userNames: ["u-a", "u-b", "u-c"], itemNames: ["i0", "i1", "i2", "i3", "i4"])
        try data.writeIdMappings(to: run)
        try data.writeSeenPairs(to: run)
        try NpyFile.write(EmbeddingTable(rows: 3, dim: 2, values: [1, 0.5, 0, 1, 2, 1]), to: run + "/user_embeddings.npy")
        try NpyFile.write(EmbeddingTable(rows: 5, dim: 2, values: [1, 0, 0, 1, 2, 0, 0, 3, 1, 1]), to: run + "/item_embeddings.npy")
        try metrics(similarity: "dot")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: run) }

    func metrics(similarity: String?) throws {
        let field = similarity.map { ",\"similarity\":\"\($0)\"" } ?? ""
        try "{\"event\":\"start\",\"loss\":\"bankInfoNCE\"\(field)}\n{\"event\":\"end\"}\n"
            .write(toFile: run + "/metrics.jsonl", atomically: true, encoding: .utf8)
    }

    func testSeenPairsAreDistinctSortedAndIncludeTheValidationSplit() throws {
        let data = InteractionData(name: "d", userCount: 2, itemCount: 4, trainUsers: [1, 0, 1, 1], trainItems: [3, 2, 0, 3],
                                   testItems: [[], []], validationItems: [[1], []])
        XCTAssertEqual(data.seenPairs().map { [$0.user, $0.item] }, [[0, 1], [0, 2], [1, 0], [1, 3]])
    }

    func testTopItemsWithOriginalIdsLeaveOutWhatTheUserHas() throws {
        let r = try Recommender(run: run)
        XCTAssertFalse(r.cosine)
        // u-a (1, 0.5) has i0 and i2: left i3 1.5, i4 1.5, i1 0.5.
        let a = try r.recommend(users: ["u-a"], k: 20)[0]
        XCTAssertEqual(a.map(\.item), ["i3", "i4", "i1"])
        XCTAssertEqual(a.map(\.rank), [1, 2, 3])
        XCTAssertEqual(a.map(\.score), [1.5, 1.5, 0.5])
        // u-b has i3 (training) and i1 (validation): both left out.
        XCTAssertEqual(try r.recommend(users: ["u-b"], k: 2)[0].map(\.item), ["i4", "i0"])
        // Several users at once, in the order asked.
        XCTAssertEqual(try r.recommend(users: ["u-c", "u-a"], k: 1).map { $0.map(\.item) }, [["i2"], ["i3"]])
    }

    func testTheRunsSimilarityDecidesTheScores() throws {
        try metrics(similarity: "cosine")
        let r = try Recommender(run: run)
        XCTAssertTrue(r.cosine)
        let a = try r.recommend(users: ["u-a"], k: 1)[0][0]
        XCTAssertEqual(a.item, "i4")   // cos((1, .5), (1, 1)) 0.949 beats cos with (0, 3) 0.447
        XCTAssertEqual(Double(a.score), 1.5 / (1.25.squareRoot() * 2.squareRoot()), accuracy: 1e-6)
        // An older run without the field: its loss's default (cosine for InfoNCE).
        try metrics(similarity: nil)
        XCTAssertTrue(try Recommender(run: run).cosine)
    }

    func testTheChosenEpochsTablesAnswerUnlessTheLastIsAsked() throws {
        try NpyFile.write(EmbeddingTable(rows: 3, dim: 2, values: [0, 1, 0, 1, 0, 1]), to: run + "/best_user_embeddings.npy")
        try NpyFile.write(EmbeddingTable(rows: 5, dim: 2, values: [1, 0, 0, 1, 2, 0, 0, 3, 1, 1]), to: run + "/best_item_embeddings.npy")
        XCTAssertEqual(try Recommender(run: run).tablePrefix, "best_")
        XCTAssertEqual(try Recommender(run: run).recommend(users: ["u-c"], k: 1)[0][0].item, "i3")
        XCTAssertEqual(try Recommender(run: run, lastEpoch: true).recommend(users: ["u-c"], k: 1)[0][0].item, "i2")
    }

    func testClearErrors() throws {
        let r = try Recommender(run: run)
        XCTAssertThrowsError(try r.recommend(users: ["nobody"], k: 5)) { error in
            XCTAssertEqual("\(error)", "user nobody is not in \(run)/users.tsv (3 users; give the dataset's original user id)")
        }
        XCTAssertThrowsError(try r.recommend(users: ["u-a"], k: 0)) { XCTAssertEqual("\($0)", "k must be at least 1 (got 0)") }
        XCTAssertThrowsError(try Recommender(run: run + "/nope")) { XCTAssertEqual("\($0)", "\(run)/nope: no such run directory") }
        for file in ["seen_pairs.npy", "items.tsv", "metrics.jsonl", "user_embeddings.npy"] {
            let path = run + "/" + file
            let saved = try Data(contentsOf: URL(fileURLWithPath: path))
            try FileManager.default.removeItem(atPath: path)
            XCTAssertThrowsError(try Recommender(run: run), file) { XCTAssertTrue("\($0)".hasPrefix(path + ": no such file"), "\($0)") }
            try saved.write(to: URL(fileURLWithPath: path))
        }
        try "0\tu-a\n2\tu-b\n".write(toFile: run + "/users.tsv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Recommender(run: run)) { XCTAssertEqual("\($0)", "\(run)/users.tsv:2: expected `1<TAB>original id`") }
    }

    /// `bytes` with the first occurrence of `old` replaced by `new` (of the same length).
    func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
        let o = Array(old.utf8), n = Array(new.utf8)
        precondition(o.count == n.count)
        var out = bytes
        let at = (0 ... bytes.count - o.count).first { Array(bytes[$0 ..< $0 + o.count]) == o }!
        out.replaceSubrange(at ..< at + o.count, with: n)
        return out
    }

    func testHostileNpyFilesAreRejected() throws {
        let path = run + "/user_embeddings.npy"
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let cases: [(String, [UInt8])] = [
            ("no NUMPY magic", [0x93] + Array("NUMPX".utf8) + Array(good[6...])),
            ("4 bytes of data", Array(good.dropLast(20))),
            ("truncated header", Array(good.prefix(40))),
            ("element type is not <f4", replacing("<f4", with: "<f8", in: good)),
            ("not 2-D", replacing("(3, 2)", with: "(6,)  ", in: good)),
        ]
        for (why, bytes) in cases {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try NpyFile.read(path, descr: "<f4"), why) { XCTAssertTrue("\($0)".contains(why), "\($0)") }
        }
        try NpyFile.write([1, 2, 3, 4, 5, 6] as [UInt32], shape: [3, 2], to: path)
        XCTAssertEqual(try NpyFile.read(path, descr: "<u4").uint32s, [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try NpyFile.read(path, descr: "<f4"))
    }
}
