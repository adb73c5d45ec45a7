import Dataset
import Foundation
import Kernels

/// Full-ranking evaluation of one epoch's parameters on a background thread, so that training and heartbeats go
/// on while it runs. It works on copies of the tables taken when the epoch ended.
final class EpochEvaluation: @unchecked Sendable {
    let epoch: Int
    private let evaluator: RankingEvaluator
    private let users: EmbeddingTable
    private let items: EmbeddingTable
    private let cosine: Bool
    private let done = DispatchSemaphore(value: 0)
    private var result: [RankingMetrics] = []
    private(set) var seconds: Double = 0

    init(epoch: Int, evaluator: RankingEvaluator, users: EmbeddingTable, items: EmbeddingTable, cosine: Bool) {
        self.epoch = epoch
        self.evaluator = evaluator
        self.users = users.copy()
        self.items = items.copy()
        self.cosine = cosine
    }

    func start() {
        let thread = Thread { [self] in
            let start = Date()
            result = evaluator.evaluate(users: users, items: items, cosine: cosine)
            seconds = Date().timeIntervalSince(start)
            done.signal()
        }
        thread.stackSize = 1 << 22
        thread.start()
    }

    /// The metrics if the evaluation has finished (waiting at most `timeout` seconds), else nil.
    func metrics(waiting timeout: Double = 0) -> [RankingMetrics]? {
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        done.signal()   // keep it readable again
        return result
    }
}
