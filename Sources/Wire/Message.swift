/// Every message of the protocol. Tags are explicit and never reused: a retired message keeps its number.
/// The byte layout of each is in docs/PROTOCOL.md and in `Message+Payload.swift`. Retired: 3 (SNAPSHOT) and 7
/// (SYNC), from protocol version 1, when workers held a replica of the tables.
public enum MessageTag: UInt16, Sendable, CaseIterable {
    case hello = 1
    case welcome = 2
    case step = 4
    case gradient = 5
    case heartbeat = 6
    case reset = 8
    case shutdown = 9
    case reject = 10
    case shardOpen = 20
    case shardReady = 21
    case shardRead = 22
    case shardRows = 23
    case shardApply = 24
    case shardApplied = 25
    case shardExport = 26
    case shardSave = 27
    case shardSaved = 28
}

/// Why the coordinator tells a worker to start over with HELLO.
public enum ResetReason: UInt8, Sendable, CaseIterable {
    case declaredDead = 1
    case unknownWorker = 2
    case newRun = 3
}

/// Why the coordinator ends a worker.
public enum ShutdownReason: UInt8, Sendable, CaseIterable {
    case finished = 0
    case error = 1
}

/// Why the coordinator refused a message. A worker stops on the reasons that say it must (`isFinal`); on the
/// others it logs the refusal and goes on (its message was dropped, nothing else changed).
public enum RejectReason: UInt8, Sendable, CaseIterable {
    /// The header's protocol version is not this coordinator's. Final.
    case unsupportedVersion = 1
    /// The frames did not decode (lengths, checksum, codes).
    case malformed = 2
    /// Not admitted (CurveZMQ, or a HELLO that is not allowed). Final.
    case notAdmitted = 3
    /// Decoded, but breaks a rule of the run's spec (ids, dims, counts, values): see docs/PROTOCOL.md, "Validation".
    case invalidContent = 4
    /// A GRADIENT for a task that is not assigned to the sender.
    case notAssigned = 5
    /// Too many requests (repeated HELLOs) from this sender; ignored.
    case rateLimited = 6
    /// The coordinator already has `--max-workers` members. Final.
    case tooManyWorkers = 7
    /// Too many refused messages from this sender: it is dropped from the run. Final.
    case dropped = 8

    /// Whether a worker told this must stop instead of going on.
    public var isFinal: Bool {
        switch self {
        case .unsupportedVersion, .notAdmitted, .tooManyWorkers, .dropped: true
        case .malformed, .invalidContent, .notAssigned, .rateLimited: false
        }
    }
}

public enum Message: Equatable, Sendable {
    /// 1, worker → coordinator: "I am here". `lastVersion`: the version of the last STEP it computed (0: none);
    /// `runId`: the run it last took part in (0: none). Both for the coordinator's log: a worker holds no state.
    case hello(incarnation: UInt64, lastVersion: UInt64, runId: UInt64, workerName: String)
    /// 2, coordinator → worker: admission, with the worker's id and what to train.
    case welcome(workerId: UInt32, runId: UInt64, currentVersion: UInt64, spec: TrainingSpec)
    /// 4, coordinator → worker: this worker's tasks of a step, with the rows they read at the step's version.
    case step(Step)
    /// 5, worker → coordinator: the result of one task.
    case gradient(Gradient)
    /// 6, both ways: liveness, with the sender's current version (a worker: of the last STEP it received).
    case heartbeat(version: UInt64)
    /// 8, coordinator → worker: forget your admission and say HELLO again.
    case reset(ResetReason, String)
    /// 9, coordinator → worker: stop.
    case shutdown(ShutdownReason, String)
    /// 10, coordinator → worker: your message was refused.
    case reject(RejectReason, String)
    /// 20, coordinator → shard: hold this share of the run's state (docs/PROTOCOL.md, "State shards").
    case shardOpen(ShardOpen)
    /// 21, shard → coordinator: SHARD_OPEN done; the shard's state is at `version`.
    case shardReady(runId: UInt64, index: UInt32, version: UInt64)
    /// 22, coordinator → shard: rows a STEP carries.
    case shardRead(ShardRead)
    /// 23, shard → coordinator: the rows of a SHARD_READ or a SHARD_EXPORT.
    case shardRows(ShardRows)
    /// 24, coordinator → shard: apply a step's gradients of the shard's rows.
    case shardApply(ShardApply)
    /// 25, shard → coordinator: the step is applied; `problem` names an unusable parameter it made (empty: none).
    case shardApplied(version: UInt64, problem: String)
    /// 26, coordinator → shard: `count` of the shard's rows of `table` from its local row `start`, caught up.
    case shardExport(table: ShardTable, start: UInt32, count: UInt32)
    /// 27, coordinator → shard: write your share of the state at `version` as your checkpoint of step `step`.
    case shardSave(version: UInt64, step: UInt64)
    /// 28, shard → coordinator: the checkpoint of step `step` is on the shard's disk: `bytes` long, its body's
    /// CRC32C `checksum` (what a later SHARD_OPEN that restores it names).
    case shardSaved(version: UInt64, step: UInt64, checksum: UInt32, bytes: UInt64)

    public var messageTag: MessageTag {
        switch self {
        case .hello: return .hello
        case .welcome: return .welcome
        case .step: return .step
        case .gradient: return .gradient
        case .heartbeat: return .heartbeat
        case .reset: return .reset
        case .shutdown: return .shutdown
        case .reject: return .reject
        case .shardOpen: return .shardOpen
        case .shardReady: return .shardReady
        case .shardRead: return .shardRead
        case .shardRows: return .shardRows
        case .shardApply: return .shardApply
        case .shardApplied: return .shardApplied
        case .shardExport: return .shardExport
        case .shardSave: return .shardSave
        case .shardSaved: return .shardSaved
        }
    }

    /// The numeric tag carried in the header.
    public var tag: UInt16 { messageTag.rawValue }

    /// A short name for logs ("HEARTBEAT", "SHARD_APPLY").
    public var name: String {
        String(describing: messageTag).reduce(into: "") { $0 += $1.isUppercase ? "_\($1)" : $1.uppercased() }
    }

    /// Whether this message belongs to the coordinator–shard link (tags 20–28), not the worker protocol.
    public var isShardMessage: Bool { tag >= 20 }
}
