import RunSettings
import Wire

/// Small fixed messages of every tag, shared by the Wire and Transport tests. `WireTests` pins their bytes.
public enum WireSamples {
    public static let spec = TrainingSpec(
        users: 2, items: 3, dim: 2,
        loss: LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.5, negatives: 4,
                           removeAccidentalHits: false, logQCorrection: true, mixInBatch: false),
        sampler: .popularity, verifyReplicas: true, popularityAlpha: 0.75, seed: 42, popularity: [1, 2, 3])

    public static let hello = Envelope(sender: 0, sequence: 1, message: .hello(incarnation: 0x0102_0304_0506_0708, lastVersion: 0, runId: 7, workerName: "w1"))
    public static let welcome = Envelope(sender: 0, sequence: 2, message: .welcome(workerId: 3, runId: 7, currentVersion: 12, spec: spec))
    public static let step = Envelope(sender: 0, sequence: 4, message: .step(Step(
        step: 5, version: 12, users: RowBlock(dim: 2, ids: [0, 1], values: [0.5, 0.25, -1, 2]),
        items: RowBlock(dim: 2, ids: [2], values: [1, -2]), bank: RowBlock(dim: 2, ids: [0, 1], values: [0.6, 0.8, 1, 0]),
        tasks: [MinibatchTask(epoch: 0, minibatch: 4, users: [1, 0], items: [2, 2])])))
    public static let gradient = Envelope(sender: 3, sequence: 9, message: .gradient(Gradient(
        step: 5, version: 12, epoch: 0, minibatch: 4, examples: 2, lossSum: 1.5, rowsHash: 0,
        users: RowBlock(dim: 2, ids: [1], values: [1, -1]), items: .empty(dim: 2))))
    public static let heartbeat = Envelope(sender: 3, sequence: 10, message: .heartbeat(version: 12))
    public static let reset = Envelope(sender: 0, sequence: 5, message: .reset(.declaredDead, "late"))
    public static let shutdown = Envelope(sender: 0, sequence: 6, message: .shutdown(.finished, "done"))
    public static let reject = Envelope(sender: 0, sequence: 7, message: .reject(.unsupportedVersion, "v2"))

    /// One sample per tag, in tag order.
    public static let all: [Envelope] = [hello, welcome, step, gradient, heartbeat, reset, shutdown, reject]

    /// A larger STEP (many rows and tasks) for round trips and transport tests.
    public static func bigStep(rows: Int, dim: Int, tasks: Int, pairs: Int) -> Envelope {
        func block(_ offset: Int) -> RowBlock {
            let ids: [UInt32] = (0..<rows).map { (k: Int) -> UInt32 in UInt32(k * 3 + offset) }
            let values: [Float] = (0..<rows * dim).map { (k: Int) -> Float in Float(k % 97) * 0.125 - Float(offset) }
            return RowBlock(dim: dim, ids: ids, values: values)
        }
        let taskList: [MinibatchTask] = (0..<tasks).map { (t: Int) -> MinibatchTask in
            let users: [UInt32] = (0..<pairs).map { (k: Int) -> UInt32 in UInt32((k * 7 + t) % 1000) }
            let items: [UInt32] = (0..<pairs).map { (k: Int) -> UInt32 in UInt32((k * 13 + t) % 500) }
            return MinibatchTask(epoch: 1, minibatch: UInt32(t), users: users, items: items)
        }
        return Envelope(sender: 0, sequence: 99, message: .step(Step(
            step: 17, version: 17, users: block(0), items: block(1), bank: block(2), tasks: taskList)))
    }
}

/// Bytes from hex text; whitespace is ignored so fields can be grouped.
public func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Lowercase hex of bytes, no separators.
public func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
