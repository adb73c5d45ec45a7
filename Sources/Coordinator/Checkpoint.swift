import Foundation
import Kernels
import MemoryBank
import Wire

/// A complete, resumable picture of training at a step boundary.
///
/// File layout (little-endian): magic "MBTCKPT1", u32 body length, body, u32 CRC32C of the body.
/// Body: u64 runId, cursor (u64 step, u64 version, u64 epoch, u64 minibatch), the run's shape (u64 minibatch size,
/// u64 minibatches per step, u64 seed), audit (u64 count, sum, xor),
/// u32 users, u32 items, u32 dim, users f32, items f32, bank f32, f32 momentum, then per optimizer (users, items)
/// u64 stepCount, u32 arrays, per array u64 length + f32 values.
public struct Checkpoint {
    public var runId: UInt64
    public var cursor: TrainingCursor
    /// What fixes the epoch plans and negatives: a resumed run must keep them, whatever its flags say.
    public var shape: RunShape
    public var audit: EpochAudit
    public var users: EmbeddingTable
    public var items: EmbeddingTable
    public var bank: EmbeddingTable
    public var momentum: Float
    public var userOptimizer: (stepCount: Int, state: [[Float]])
    public var itemOptimizer: (stepCount: Int, state: [[Float]])

    static let magic = Array("MBTCKPT1".utf8)

    public init(runId: UInt64, cursor: TrainingCursor, shape: RunShape, audit: EpochAudit, state: TrainingState) {
        self.runId = runId
        self.cursor = cursor
        self.shape = shape
        self.audit = audit
        state.catchUpAll()   // dense Adam: the tables and optimizer state describe the current step
        users = state.users
        items = state.items
        bank = state.bank.table
        momentum = state.bank.momentum
        userOptimizer = (state.userOptimizer.stepCount, state.userOptimizer.state)
        itemOptimizer = (state.itemOptimizer.stepCount, state.itemOptimizer.state)
    }

    public func encoded() -> Data { Data(encodedBytes()) }

    /// The file's bytes, built in one buffer: the body's length is filled in and its checksum appended at the end.
    public func encodedBytes() -> [UInt8] {
        let floats = [users, items, bank].reduce(0) { $0 + $1.rows * $1.dim }
            + (userOptimizer.state + itemOptimizer.state).reduce(0) { $0 + $1.count }
        return SealedFile.seal(magic: Checkpoint.magic, capacity: 4 * floats + 256) { file in
            CheckpointHead(runId: runId, cursor: cursor, shape: shape, audit: audit, users: users.rows,
                           items: items.rows, dim: users.dim).write(to: &file)
            for table in [users, items, bank] { table.withUnsafeValues { file.f32s($0) } }
            file.f32(momentum)
            for opt in [userOptimizer, itemOptimizer] {
                file.u64(UInt64(opt.stepCount))
                file.u32(UInt32(opt.state.count))
                for array in opt.state { file.u64(UInt64(array.count)); file.f32s(array) }
            }
        }
    }

    public static func decode(_ data: Data, path: String) throws -> Checkpoint {
        func bad(_ what: String) -> TrainerError { TrainerError("\(path): not a valid checkpoint (\(what))") }
        let body = try SealedFile.body(of: [UInt8](data), magic: magic, path: path, kind: "checkpoint")
        do {
            var r = ByteReader(body)
            func int(_ what: String) throws -> Int { try CheckpointHead.int(&r, what, bad) }
            let head = try CheckpointHead.read(from: &r, bad: bad)
            let (runId, cursor, shape, audit) = (head.runId, head.cursor, head.shape, head.audit)
            let (userCount, itemCount, dim) = (head.users, head.items, head.dim)
            /// The values (rows, dim) of a table: rows × dim of two u32 can overflow `Int`.
            func table(_ rows: Int, _ what: String) throws -> EmbeddingTable {
                let (count, overflow) = rows.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw bad("\(what) of \(rows) rows × dim \(dim) is too large") }
                return EmbeddingTable(rows: rows, dim: dim, values: try r.f32s(count, what))
            }
            let users = try table(userCount, "user table")
            let items = try table(itemCount, "item table")
            let bank = try table(itemCount, "bank")
            let momentum = try r.f32("momentum")
            guard momentum >= 0 && momentum <= 1 else { throw bad("bank momentum \(momentum) is not in [0, 1]") }
            var optimizers: [(Int, [[Float]])] = []
            for _ in 0 ..< 2 {
                let steps = try int("optimizer steps")
                let arrays = Int(try r.u32("optimizer arrays"))
                guard arrays <= 8 else { throw bad("\(arrays) optimizer arrays") }
                var state: [[Float]] = []
                for _ in 0 ..< arrays {
                    let count = try r.u64("optimizer array length")
                    guard count <= UInt64(r.remaining) else { throw bad("truncated body") }
                    state.append(try r.f32s(Int(count), "optimizer array"))
                }
                optimizers.append((steps, state))
            }
            guard r.remaining == 0 else { throw bad("\(r.remaining) trailing bytes") }
            return Checkpoint(runId: runId, cursor: cursor, shape: shape, audit: audit, users: users, items: items,
                              bank: bank, momentum: momentum, userOptimizer: optimizers[0], itemOptimizer: optimizers[1])
        } catch let error as WireError {
            throw bad("truncated body: \(error)")
        }
    }

    init(runId: UInt64, cursor: TrainingCursor, shape: RunShape, audit: EpochAudit, users: EmbeddingTable,
         items: EmbeddingTable, bank: EmbeddingTable, momentum: Float, userOptimizer: (Int, [[Float]]),
         itemOptimizer: (Int, [[Float]])) {
        self.runId = runId
        self.cursor = cursor
        self.shape = shape
        self.audit = audit
        self.users = users
        self.items = items
        self.bank = bank
        self.momentum = momentum
        self.userOptimizer = (userOptimizer.0, userOptimizer.1)
        self.itemOptimizer = (itemOptimizer.0, itemOptimizer.1)
    }

    /// Training state rebuilt from the checkpoint.
    public func restore(optimizer: OptimizerSettings) throws -> TrainingState {
        let memoryBank = MemoryBank(table: bank, momentum: momentum, version: cursor.version)
        let state = TrainingState(users: users, items: items, bank: memoryBank, optimizer: optimizer,
                                  version: cursor.version)
        try state.userOptimizer.restore(state: userOptimizer.state, stepCount: userOptimizer.stepCount)
        try state.itemOptimizer.restore(state: itemOptimizer.state, stepCount: itemOptimizer.stepCount)
        return state
    }
}

/// What the body of every checkpoint file starts with (`Checkpoint`, `ShardedCheckpoint`): u64 runId, cursor (u64 step,
/// u64 version, u64 epoch, u64 minibatch), the run's shape (u64 minibatch size, u64 minibatches per step, u64 seed),
/// audit (u64 count, sum, xor), u32 users, u32 items, u32 dim.
struct CheckpointHead {
    var runId: UInt64
    var cursor: TrainingCursor
    var shape: RunShape
    var audit: EpochAudit
    var users: Int
    var items: Int
    var dim: Int

    func write(to file: inout ByteWriter) {
        file.u64(runId)
        file.u64(cursor.step); file.u64(cursor.version); file.u64(UInt64(cursor.epoch)); file.u64(UInt64(cursor.minibatch))
        file.u64(UInt64(shape.minibatchSize)); file.u64(UInt64(shape.minibatchesPerStep)); file.u64(shape.seed)
        file.u64(UInt64(audit.count)); file.u64(audit.sum); file.u64(audit.xor)
        file.u32(UInt32(users)); file.u32(UInt32(items)); file.u32(UInt32(dim))
    }

    /// `bad` makes the error for a field out of its rule.
    static func read(from r: inout ByteReader, bad: (String) -> TrainerError) throws -> CheckpointHead {
        let runId = try r.u64("run id")
        let cursor = TrainingCursor(step: try r.u64("step"), version: try r.u64("version"),
                                    epoch: try int(&r, "epoch", bad), minibatch: try int(&r, "minibatch", bad))
        let shape = RunShape(minibatchSize: try int(&r, "minibatch size", bad),
                             minibatchesPerStep: try int(&r, "minibatches per step", bad), seed: try r.u64("seed"))
        guard shape.minibatchSize > 0, shape.minibatchesPerStep > 0 else { throw bad("empty minibatches") }
        var audit = EpochAudit()
        audit.count = try int(&r, "audit count", bad); audit.sum = try r.u64("audit sum"); audit.xor = try r.u64("audit xor")
        let users = Int(try r.u32("users")), items = Int(try r.u32("items")), dim = Int(try r.u32("dim"))
        guard dim > 0 else { throw bad("dim 0") }
        return CheckpointHead(runId: runId, cursor: cursor, shape: shape, audit: audit, users: users, items: items, dim: dim)
    }

    /// A u64 field that is an `Int` in memory: refused, not trapped on, when it is above `Int.max`.
    static func int(_ r: inout ByteReader, _ what: String, _ bad: (String) -> TrainerError) throws -> Int {
        let value = try r.u64(what)
        guard value <= UInt64(Int.max) else { throw bad("\(what) \(value) is out of range") }
        return Int(value)
    }
}

/// The settings that decide which interactions form each minibatch and step, and which negatives each draws.
public struct RunShape: Sendable, Equatable {
    public var minibatchSize: Int
    public var minibatchesPerStep: Int
    public var seed: UInt64

    public init(minibatchSize: Int, minibatchesPerStep: Int, seed: UInt64) {
        self.minibatchSize = minibatchSize
        self.minibatchesPerStep = minibatchesPerStep
        self.seed = seed
    }
}

/// The checkpoints of a run directory: `<prefix><step>.mbt` (`checkpoint-` for the coordinator's own state), newest
/// first.
///
/// `saveInBackground` encodes on the caller's thread, so the file is the state at that moment, and leaves the
/// writing (and the wait for the disk) to one serial queue, so that training goes on meanwhile; each file appears
/// under its name only once it is complete (written to a temporary name, synchronised, then renamed).
public struct CheckpointStore: Sendable {
    public let directory: String
    public let keep: Int
    /// What every file name of this store starts with.
    public let prefix: String
    private let writer = Writer()

    public init(directory: String, keep: Int = 2, prefix: String = "checkpoint-") {
        self.directory = directory
        self.keep = keep
        self.prefix = prefix
    }

    public func save(_ checkpoint: Checkpoint) throws -> String {
        try write(checkpoint.encodedBytes(), step: checkpoint.cursor.step)
    }

    /// The path of the file of step `step`.
    public func path(step: UInt64) -> String { directory + "/" + prefix + String(format: "%010llu", step) + ".mbt" }

    /// Encodes `checkpoint` now and writes it on the store's queue; `completion` runs there with the path or the
    /// error. At most one write is pending: a save while the previous one is still being written waits for it
    /// first, so checkpoints taken faster than the disk takes them hold one encoded copy, not a growing queue.
    /// `waitForPendingWrites` waits for every write started before it.
    public func saveInBackground(_ checkpoint: Checkpoint,
                                 completion: @escaping @Sendable (Result<String, any Error>) -> Void) {
        waitForPendingWrites()
        saveInBackground(bytes: checkpoint.encodedBytes(), step: checkpoint.cursor.step, completion: completion)
    }

    /// Writes a file's `bytes` as the one of step `step`, on the store's queue, as above.
    public func saveInBackground(bytes: [UInt8], step: UInt64,
                                 completion: @escaping @Sendable (Result<String, any Error>) -> Void) {
        waitForPendingWrites()
        writer.group.enter()
        writer.queue.async { [self] in
            completion(Result { try write(bytes, step: step) })
            writer.group.leave()
        }
    }

    public func waitForPendingWrites() { writer.group.wait() }

    /// Writes `bytes` as the file of step `step` (complete under its name or not at all) and removes the files
    /// beyond the newest `keep`.
    public func write(_ bytes: [UInt8], step: UInt64) throws -> String {
        let path = path(step: step)
        try AtomicFile.write(bytes, to: path)
        for old in paths().dropFirst(keep) { unlink(old) }
        return path
    }

    private final class Writer: Sendable {
        let queue = DispatchQueue(label: "checkpoint writer")
        let group = DispatchGroup()
    }

    public func paths() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".mbt") }.sorted(by: >)
            .map { directory + "/" + $0 }
    }

    /// The newest checkpoint that reads back intact, and the reasons the newer ones were passed over.
    public func newestValid() -> (Checkpoint, path: String, skipped: [String])? {
        var skipped: [String] = []
        for path in paths() {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                return (try Checkpoint.decode(data, path: path), path, skipped)
            } catch {
                skipped.append("\(error)")
            }
        }
        return nil
    }
}
