import Dataset
import Foundation
import Kernels
import Transport

/// Full-ranking evaluation of one epoch's parameters on a background thread, so that training and heartbeats go
/// on while it runs. It works on copies of the tables taken when the epoch ended (kept for exporting the epoch that
/// model selection chooses).
final class EpochEvaluation: @unchecked Sendable {
    let epoch: Int
    private let evaluator: RankingEvaluator
    private let validationEvaluator: RankingEvaluator?
    let users: EmbeddingTable
    let items: EmbeddingTable
    private let cosine: Bool
    private let clock: any ShellClock
    private let done = DispatchSemaphore(value: 0)
    private var result: (test: [RankingMetrics], validation: [RankingMetrics]) = ([], [])
    private(set) var seconds: Double = 0

    init(epoch: Int, evaluator: RankingEvaluator, validationEvaluator: RankingEvaluator?, users: EmbeddingTable,
         items: EmbeddingTable, cosine: Bool, clock: any ShellClock) {
        self.clock = clock
        self.epoch = epoch
        self.evaluator = evaluator
        self.validationEvaluator = validationEvaluator
        self.users = users.copy()
        self.items = items.copy()
        self.cosine = cosine
    }

    func start() {
        let thread = Thread { [self] in
            let start = clock.now()
            let test = evaluator.evaluate(users: users, items: items, cosine: cosine)
            let validation = validationEvaluator?.evaluate(users: users, items: items, cosine: cosine) ?? []
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
