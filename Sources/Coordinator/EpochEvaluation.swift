import Dataset
import Foundation
import Kernels
import Transport

/// Full-ranking evaluation of one epoch's parameters on a background thread, so that training and heartbeats go
/// on while it runs. It works on copies of the tables taken when the epoch ended (kept for exporting the epoch that
/// model selection chooses). When only a sample of the users is evaluated and there is no validation split (so no
/// epoch is ever chosen for export), only the sampled users' rows are copied.
final class EpochEvaluation: @unchecked Sendable {
    let epoch: Int
    private let evaluator: RankingEvaluator
    private let validationEvaluator: RankingEvaluator?
    /// The whole user table, or nil when only the sampled users' rows were copied (`sampledUsers`).
    let users: EmbeddingTable?
    /// The evaluated users' rows (evaluatedUsers.count, d) when the whole table was not copied.
    private let sampledUsers: EmbeddingTable?
    let items: EmbeddingTable
    private let cosine: Bool
    private let clock: any ShellClock
    private let done = DispatchSemaphore(value: 0)
    private var result: (test: [RankingMetrics], validation: [RankingMetrics]) = ([], [])
    private(set) var seconds: Double = 0

    /// `owned`: the tables are this evaluation's own (gathered from shards), not the live state: kept, not copied.
    init(epoch: Int, evaluator: RankingEvaluator, validationEvaluator: RankingEvaluator?, users: EmbeddingTable,
         items: EmbeddingTable, cosine: Bool, clock: any ShellClock, owned: Bool = false) {
        self.clock = clock
        self.epoch = epoch
        self.evaluator = evaluator
        self.validationEvaluator = validationEvaluator
        if evaluator.isSampled && validationEvaluator == nil {
            self.users = nil
            sampledUsers = evaluator.evaluatedRows(of: users)
        } else {
            self.users = owned ? users : users.copy()
            sampledUsers = nil
        }
        self.items = owned ? items : items.copy()
        self.cosine = cosine
    }

    /// Only the sampled users' rows (`evaluator.evaluatedUsers` order; no validation split) and an item table of
    /// its own: what a sharded run gathers when it evaluates a sample of the users.
    init(epoch: Int, evaluator: RankingEvaluator, sampledUsers: EmbeddingTable, ownedItems items: EmbeddingTable,
         cosine: Bool, clock: any ShellClock) {
        precondition(evaluator.isSampled && sampledUsers.rows == evaluator.evaluatedUsers.count,
                     "the rows of the sampled users")
        self.clock = clock
        self.epoch = epoch
        self.evaluator = evaluator
        validationEvaluator = nil
        users = nil
        self.sampledUsers = sampledUsers
        self.items = items
        self.cosine = cosine
    }

    func start() {
        let thread = Thread { [self] in
            let start = clock.now()
            let test = sampledUsers.map { evaluator.evaluate(evaluatedUserRows: $0, items: items, cosine: cosine) }
                ?? evaluator.evaluate(users: users!, items: items, cosine: cosine)
            let validation = users.flatMap { validationEvaluator?.evaluate(users: $0, items: items, cosine: cosine) } ?? []
            result = (test, validation)
            seconds = clock.now() - start
            done.signal()
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    /// The test and validation metrics if the evaluation has finished (waiting at most `timeout` seconds), else nil.
    func metrics(waiting timeout: Double = 0) -> (test: [RankingMetrics], validation: [RankingMetrics])? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        done.signal()   // keep it readable again
        return result
    }
}
