/// Where the run is in its epochs, and how minibatches group into steps.
public struct TrainingSchedule: Sendable, Equatable {
    public var epochs: Int
    public var minibatchesPerEpoch: Int
    public var minibatchesPerStep: Int

    public init(epochs: Int, minibatchesPerEpoch: Int, minibatchesPerStep: Int) {
        precondition(epochs >= 1, "epochs must be at least 1")
        precondition(minibatchesPerEpoch >= 1, "an epoch needs at least one minibatch")
        precondition(minibatchesPerStep >= 1, "a step needs at least one minibatch")
        self.epochs = epochs
        self.minibatchesPerEpoch = minibatchesPerEpoch
        self.minibatchesPerStep = minibatchesPerStep
    }

    /// Steps in one epoch (the last may hold fewer minibatches).
    public var stepsPerEpoch: Int { (minibatchesPerEpoch + minibatchesPerStep - 1) / minibatchesPerStep }
    public var totalSteps: Int { stepsPerEpoch * epochs }
}

/// The position of the next step to run: resumable from a checkpoint.
public struct TrainingCursor: Sendable, Equatable, Codable {
    /// Global step number of the next step, from 1.
    public var step: UInt64
    /// State version: the number of steps applied so far.
    public var version: UInt64
    public var epoch: Int
    /// Index of the next minibatch of `epoch` to schedule.
    public var minibatch: Int

    public init(step: UInt64 = 1, version: UInt64 = 0, epoch: Int = 0, minibatch: Int = 0) {
        self.step = step
        self.version = version
        self.epoch = epoch
        self.minibatch = minibatch
    }
}
