/// A minibatch of an epoch: the unit of work that is assigned, computed, reassigned and audited.
public struct TaskKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var epoch: UInt32
    public var minibatch: UInt32

    public init(epoch: UInt32, minibatch: UInt32) {
        self.epoch = epoch
        self.minibatch = minibatch
    }

    public static func < (a: TaskKey, b: TaskKey) -> Bool {
        (a.epoch, a.minibatch) < (b.epoch, b.minibatch)
    }

    public var description: String { "e\(epoch)/mb\(minibatch)" }
}
