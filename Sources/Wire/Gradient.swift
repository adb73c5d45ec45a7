/// A worker's answer to one task of a step: the summed loss and summed gradient of minibatch
/// (epoch, minibatch) against the replica at `version`.
///
/// Wire form (GRADIENT): u64 step, u64 version, u32 epoch, u32 minibatch, u32 examples, f64 lossSum,
/// u64 rowsHash (0 = not computed), rows userGradient, rows itemGradient.
public struct Gradient: Equatable, Sendable {
    public var step: UInt64
    public var version: UInt64
    public var epoch: UInt32
    public var minibatch: UInt32
    public var examples: UInt32
    public var lossSum: Double
    public var rowsHash: UInt64
    public var users: RowBlock
    public var items: RowBlock

    public init(step: UInt64, version: UInt64, epoch: UInt32, minibatch: UInt32, examples: UInt32, lossSum: Double, rowsHash: UInt64 = 0, users: RowBlock, items: RowBlock) {
        self.step = step
        self.version = version
        self.epoch = epoch
        self.minibatch = minibatch
        self.examples = examples
        self.lossSum = lossSum
        self.rowsHash = rowsHash
        self.users = users
        self.items = items
    }
}

extension Gradient {
    func write(to w: inout ByteWriter) {
        w.u64(step)
        w.u64(version)
        w.u32(epoch)
        w.u32(minibatch)
        w.u32(examples)
        w.f64(lossSum)
        w.u64(rowsHash)
        users.write(to: &w)
        items.write(to: &w)
    }

    static func read(from r: inout ByteReader) throws(WireError) -> Gradient {
        Gradient(
            step: try r.u64("gradient step"),
            version: try r.u64("gradient version"),
            epoch: try r.u32("gradient epoch"),
            minibatch: try r.u32("gradient minibatch"),
            examples: try r.u32("gradient examples"),
            lossSum: try r.f64("gradient lossSum"),
            rowsHash: try r.u64("gradient rowsHash"),
            users: try RowBlock.read(from: &r, "gradient users"),
            items: try RowBlock.read(from: &r, "gradient items"))
    }
}
