import Dataset

/// Which epoch a run would hand to a user, and when to stop training.
///
/// With a validation split the model is chosen by the validation Recall@K of the first cut-off (ties: the earlier
/// epoch); the test figures of that epoch are the honest result. The best test epoch is kept as well, because
/// published tables report it, but it is chosen by looking at the test set and says so wherever it is printed.
/// Early stopping: after `patience` epochs in a row without a better validation score, training ends.
public struct ModelSelection: Sendable, Equatable {
    public struct Choice: Sendable, Equatable {
        /// 1-based epoch number.
        public var epoch: Int
        /// Test metrics of that epoch (empty when the data has no test items).
        public var test: [RankingMetrics]
        /// Validation metrics of that epoch (empty without a validation split).
        public var validation: [RankingMetrics]
    }

    /// Epochs without a better validation score before training ends; 0 never ends early.
    public let patience: Int
    /// The epoch with the best validation score so far.
    public private(set) var byValidation: Choice?
    /// The epoch with the best test score so far (chosen on the test set).
    public private(set) var byTest: Choice?
    /// The last epoch seen.
    public private(set) var lastEpoch = 0

    public init(patience: Int = 0) {
        precondition(patience >= 0, "patience must be 0 or more, got \(patience)")
        self.patience = patience
    }

    /// Adds an evaluated epoch (1-based, in increasing order). Returns true when it is the new validation choice.
    @discardableResult
    public mutating func record(epoch: Int, test: [RankingMetrics], validation: [RankingMetrics]) -> Bool {
        precondition(epoch > lastEpoch, "epoch \(epoch) recorded after epoch \(lastEpoch)")
        lastEpoch = epoch
        let choice = Choice(epoch: epoch, test: test, validation: validation)
        if let score = test.first?.recall, score > (byTest?.test.first?.recall ?? -1) { byTest = choice }
        guard let score = validation.first?.recall, score > (byValidation?.validation.first?.recall ?? -1) else {
            return false
        }
        byValidation = choice
        return true
    }

    /// Epochs since the validation choice (0 right after an improvement).
    public var epochsWithoutImprovement: Int { byValidation.map { lastEpoch - $0.epoch } ?? lastEpoch }

    /// True when early stopping is on and `patience` epochs have passed without a better validation score.
    public var shouldStop: Bool { patience > 0 && byValidation != nil && epochsWithoutImprovement >= patience }
}
