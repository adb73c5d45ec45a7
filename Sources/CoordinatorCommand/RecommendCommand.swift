import ArgumentParser
import Coordinator
import Foundation
import Kernels

/// `coordinator recommend`: the top items of users of a finished run.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Prints the top items for users of a finished run, leaving out the items each already has.",
        discussion: """
            Reads RUN's embeddings, users.tsv / items.tsv and seen_pairs.npy (every training pair of the run, \
            including any validation split) and ranks all items with the similarity the run trained and evaluated \
            with (metrics.jsonl), as the evaluation ranks them. Ids are the dataset's original ids. With a \
            validation split the tables of the chosen epoch (best_*.npy) answer, unless --last-epoch. Output: a TSV \
            with the header `user rank item score`.
            """)

    @Option(name: .customLong("run"), help: "The run's output directory.") var runDirectory: String
    @Option(help: "A user's original id.") var user: String?
    @Option(help: "A file of user ids, one per line (blank lines and lines starting with # are skipped).")
    var users: String?
    @Option(help: "Items per user.") var k = 20
    @Option(help: "Write the TSV here instead of standard output.") var output: String?
    @Option(help: "The OpenBLAS build: \(BLAS.Choice.help).") var blas = "auto"
    @Flag(help: "Use the last epoch's tables even when a validation split chose another epoch.") var lastEpoch = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("--k must be at least 1 (got \(k))") }
        guard (user == nil) != (users == nil) else { throw ValidationError("give either --user ID or --users FILE") }
    }

    /// The user ids of `--users`.
    static func readUsers(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("--users \(path): no such file or not UTF-8 text")
        }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    func run() throws {
        try BLAS.select(BLAS.Choice(blas))
        let recommender = try Recommender(run: runDirectory, lastEpoch: lastEpoch)
        let ids = try user.map { [$0] } ?? Self.readUsers(users!)
        let lists = try recommender.recommend(users: ids, k: k)
        var text = "user\trank\titem\tscore\n"
        for (id, list) in zip(ids, lists) {
            for r in list { text += "\(id)\t\(r.rank)\t\(r.item)\t\(String(format: "%.6f", r.score))\n" }
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                throw ValidationError("--output \(output): cannot be written")
            }
            FileHandle.standardError.write(Data("wrote \(lists.reduce(0) { $0 + $1.count }) recommendations for \(ids.count) user(s) to \(output) (\(recommender.tablePrefix.isEmpty ? "last epoch's" : "validation-chosen epoch's") tables, \(recommender.cosine ? "cosine" : "dot product"))\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
