import Dataset
import Foundation
import Kernels

/// A finished run's tables, ready to answer "which items for this user": the embeddings, the id mappings, the pairs
/// each user already has (`seen_pairs.npy`), and the similarity the run ranked with (from metrics.jsonl). Items are
/// ranked by `ItemRanking`, as the evaluation ranks them.
public struct Recommender {
    public struct Recommendation: Sendable, Equatable {
        public var rank: Int
        /// The item's original id (from items.tsv).
        public var item: String
        public var score: Float
    }

    public let run: String
    /// Which tables answer: `best_` (the epoch chosen on a validation split) or "" (the last epoch's).
    public let tablePrefix: String
    public let cosine: Bool
    let users: EmbeddingTable
    let items: EmbeddingTable
    let userIds: [String]
    let itemIds: [String]
    let userIndex: [String: UInt32]
    let seen: ItemsByUser

    public var userCount: Int { users.rows }

    /// Loads the run in directory `run`. With `lastEpoch` false, a run with a validation split answers with the
    /// tables of its chosen epoch (`best_*.npy`).
    public init(run: String, lastEpoch: Bool = false) throws {
        self.run = run
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: run, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainerError("\(run): no such run directory")
        }
        let best = FileManager.default.fileExists(atPath: run + "/best_user_embeddings.npy")
            && FileManager.default.fileExists(atPath: run + "/best_item_embeddings.npy")
        tablePrefix = best && !lastEpoch ? "best_" : ""
        let u = try NpyFile.read(run + "/\(tablePrefix)user_embeddings.npy", descr: "<f4")
        let i = try NpyFile.read(run + "/\(tablePrefix)item_embeddings.npy", descr: "<f4")
        guard u.cols == i.cols, u.cols > 0 else {
            throw TrainerError("\(run): user embeddings have \(u.cols) columns, item embeddings \(i.cols)")
        }
        users = EmbeddingTable(rows: u.rows, dim: u.cols, values: u.floats)
        items = EmbeddingTable(rows: i.rows, dim: i.cols, values: i.floats)
        userIds = try Self.readMapping(run + "/users.tsv", rows: u.rows)
        itemIds = try Self.readMapping(run + "/items.tsv", rows: i.rows)
        var index: [String: UInt32] = [:]
        for (dense, original) in userIds.enumerated() { index[original] = UInt32(dense) }
        userIndex = index
        let pairsPath = run + "/" + InteractionData.seenPairsFile
        let pairs = try NpyFile.read(pairsPath, descr: "<u4")
        guard pairs.cols == 2 else { throw TrainerError("\(pairsPath): \(pairs.cols) columns, expected 2 (user, item)") }
        let values = pairs.uint32s
        var pairUsers = [UInt32](), pairItems = [UInt32]()
        pairUsers.reserveCapacity(pairs.rows)
        pairItems.reserveCapacity(pairs.rows)
        for p in 0 ..< pairs.rows {
            let (pu, pi) = (values[2 * p], values[2 * p + 1])
            guard Int(pu) < u.rows, Int(pi) < i.rows else {
                throw TrainerError("\(pairsPath): pair \(p) is (\(pu), \(pi)), outside \(u.rows) users × \(i.rows) items")
            }
            pairUsers.append(pu)
            pairItems.append(pi)
        }
        seen = ItemsByUser(userCount: u.rows, users: pairUsers, items: pairItems)
        cosine = try Self.similarity(metricsPath: run + "/metrics.jsonl") == "cosine"
    }

    /// The similarity the run ranked with: the start event's `similarity`, or for older runs the default of its
    /// loss (dot for mnr and bpr, cosine otherwise).
    static func similarity(metricsPath: String) throws -> String {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else {
            throw TrainerError("\(metricsPath): no such file (it names the similarity the run ranked with)")
        }
        for (n, line) in text.split(separator: "\n").enumerated() {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw TrainerError("\(metricsPath):\(n + 1): not a JSON object")
            }
            guard object["event"] as? String == "start" else { continue }
            if let similarity = object["similarity"] as? String {
                guard ["cosine", "dot"].contains(similarity) else {
                    throw TrainerError("\(metricsPath):\(n + 1): unknown similarity \(similarity)")
                }
                return similarity
            }
            return ["mnr", "bpr"].contains(object["loss"] as? String ?? "") ? "dot" : "cosine"
        }
        throw TrainerError("\(metricsPath): no start event")
    }

    /// `dense id <TAB> original id` per line, dense ids 0, 1, … in order, exactly `rows` lines.
    static func readMapping(_ path: String, rows: Int) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainerError("\(path): no such file or not UTF-8 text")
        }
        var out: [String] = []
        out.reserveCapacity(rows)
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2, Int(fields[0]) == out.count else {
                throw TrainerError("\(path):\(n + 1): expected `\(out.count)<TAB>original id`")
            }
            out.append(String(fields[1]))
        }
        guard out.count == rows else {
            throw TrainerError("\(path): \(out.count) ids for \(rows) embedding rows")
        }
        return out
    }

    /// The dense id of a user's original id.
    public func denseUser(_ original: String) throws -> UInt32 {
        guard let dense = userIndex[original] else {
            throw TrainerError("user \(original) is not in \(run)/users.tsv (\(userIds.count) users; give the dataset's original user id)")
        }
        return dense
    }

    /// The top `k` items of each user (original ids), leaving out the items each already has.
    public func recommend(users originals: [String], k: Int) throws -> [[Recommendation]] {
        guard k >= 1 else { throw TrainerError("k must be at least 1 (got \(k))") }
        let dense = try originals.map(denseUser)
        let ranked = ItemRanking.top(k: k, users: dense, userTable: users, itemTable: items, cosine: cosine,
                                     excluded: seen)
        return ranked.map { list in
            list.enumerated().map { Recommendation(rank: $0.offset + 1, item: itemIds[Int($0.element.item)], score: $0.element.score) }
        }
    }
}
