import Foundation
import Wire

/// The envelope of every checkpoint file: an 8-byte magic, u32 body length, the body, u32 CRC32C of the body.
enum SealedFile {
    /// The file's bytes, built in one buffer: `body` writes the body after the header, whose length is then filled
    /// in, and the checksum is appended.
    static func seal(magic: [UInt8], capacity: Int, body: (inout ByteWriter) -> Void) -> [UInt8] {
        var file = ByteWriter(capacity: capacity)
        file.bytes += magic
        file.u32(0)   // the body's length, filled in below
        body(&file)
        let bodyStart = magic.count + 4
        let length = UInt32(file.bytes.count - bodyStart)
        for k in 0 ..< 4 { file.bytes[magic.count + k] = UInt8(truncatingIfNeeded: length >> UInt32(8 * k)) }
        let crc = file.bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bodyStart...])) }
        file.u32(crc)
        return file.bytes
    }

    /// The body of `bytes` once magic, length and checksum hold; otherwise an error naming `path` and the fault.
    static func body(of bytes: [UInt8], magic: [UInt8], path: String, kind: String) throws -> [UInt8] {
        func bad(_ what: String) -> TrainerError { TrainerError("\(path): not a valid \(kind) (\(what))") }
        guard bytes.count >= magic.count + 8, Array(bytes[0 ..< magic.count]) == magic else { throw bad("wrong magic") }
        let start = magic.count + 4
        let length = Int(u32(bytes, at: magic.count))
        guard bytes.count == start + length + 4 else {
            throw bad("truncated: \(bytes.count) bytes, expected \(start + length + 4)")
        }
        let body = Array(bytes[start ..< start + length])
        guard u32(bytes, at: start + length) == CRC32C.checksum(body) else { throw bad("checksum mismatch") }
        return body
    }

    /// The checksum a sealed file carries (its last four bytes), or nil for a file too short to carry one.
    static func checksum(of bytes: [UInt8]) -> UInt32? {
        bytes.count >= 4 ? u32(bytes, at: bytes.count - 4) : nil
    }

    private static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0 ..< 4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }
}

/// A checkpoint of a run whose state shards hold (`--shard`): the coordinator's part of a consistent cut at a step
/// boundary. Each shard has written its own rows as its checkpoint of the same step (SHARD_SAVE); this file is
/// written only after every shard has said so (SHARD_SAVED), and names each shard's file by its checksum, so that
/// a resumed run restores all shards to the same step or refuses to start.
///
/// File (`shards-checkpoint-<step>.mbt`, little-endian): magic "MBTSHRD1", u32 body length, body, u32 CRC32C of
/// the body. Body: u64 runId, cursor (u64 step, u64 version, u64 epoch, u64 minibatch), the run's shape (u64
/// minibatch size, u64 minibatches per step, u64 seed), audit (u64 count, sum, xor), u32 users, u32 items, u32 dim,
/// u32 shard count S, then per shard u32 checksum and u64 bytes of its file.
public struct ShardedCheckpoint: Equatable {
    public var runId: UInt64
    public var cursor: TrainingCursor
    public var shape: RunShape
    public var audit: EpochAudit
    public var users: Int
    public var items: Int
    public var dim: Int
    /// Shard k's file of this step: its body's CRC32C and its length.
    public var shards: [ShardFile]

    public struct ShardFile: Equatable, Sendable {
        public var checksum: UInt32
        public var bytes: UInt64

        public init(checksum: UInt32, bytes: UInt64) {
            self.checksum = checksum
            self.bytes = bytes
        }
    }

    static let magic = Array("MBTSHRD1".utf8)
    /// The file names of the coordinator's part, beside a run's `metrics.jsonl`.
    public static let prefix = "shards-checkpoint-"
    /// The most shards a file may name.
    static let maxShards = 4096

    public init(runId: UInt64, cursor: TrainingCursor, shape: RunShape, audit: EpochAudit, users: Int, items: Int,
                dim: Int, shards: [ShardFile]) {
        self.runId = runId
        self.cursor = cursor
        self.shape = shape
        self.audit = audit
        self.users = users
        self.items = items
        self.dim = dim
        self.shards = shards
    }

    /// The file names a shard's own checkpoints take: shard `index` (0-based) of `count`.
    public static func shardPrefix(index: Int, count: Int) -> String { "shard-\(index + 1)-of-\(count)-checkpoint-" }

    public func encodedBytes() -> [UInt8] {
        SealedFile.seal(magic: Self.magic, capacity: 128 + 12 * shards.count) { file in
            CheckpointHead(runId: runId, cursor: cursor, shape: shape, audit: audit, users: users, items: items,
                           dim: dim).write(to: &file)
            file.u32(UInt32(shards.count))
            for shard in shards { file.u32(shard.checksum); file.u64(shard.bytes) }
        }
    }

    public static func decode(_ data: Data, path: String) throws -> ShardedCheckpoint {
        func bad(_ what: String) -> TrainerError { TrainerError("\(path): not a valid sharded checkpoint (\(what))") }
        var r = ByteReader(try SealedFile.body(of: [UInt8](data), magic: magic, path: path, kind: "sharded checkpoint"))
        do {
            let head = try CheckpointHead.read(from: &r, bad: bad)
            guard head.cursor.step > 0 else { throw bad("step 0") }
            let count = Int(try r.u32("shards"))
            guard count >= 2, count <= maxShards else { throw bad("\(count) shards") }
            var shards: [ShardFile] = []
            for _ in 0 ..< count {
                shards.append(ShardFile(checksum: try r.u32("shard checksum"), bytes: try r.u64("shard bytes")))
            }
            guard r.remaining == 0 else { throw bad("\(r.remaining) trailing bytes") }
            return ShardedCheckpoint(runId: head.runId, cursor: head.cursor, shape: head.shape, audit: head.audit,
                                     users: head.users, items: head.items, dim: head.dim, shards: shards)
        } catch let error as WireError {
            throw bad("truncated body: \(error)")
        }
    }
}
