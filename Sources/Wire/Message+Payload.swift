extension Message {
    /// The payload bytes of this message (everything after the header).
    func encodePayload() -> [UInt8] {
        var w = ByteWriter(capacity: estimatedPayloadSize)
        switch self {
        case let .hello(incarnation, lastVersion, runId, workerName):
            w.u64(incarnation)
            w.u64(lastVersion)
            w.u64(runId)
            w.string(workerName)
        case let .welcome(workerId, runId, currentVersion, spec):
            w.u32(workerId)
            w.u64(runId)
            w.u64(currentVersion)
            spec.write(to: &w)
        case let .step(step):
            step.write(to: &w)
        case let .gradient(gradient):
            gradient.write(to: &w)
        case let .heartbeat(version):
            w.u64(version)
        case let .reset(reason, message):
            w.u8(reason.rawValue)
            w.string(message)
        case let .shutdown(reason, message):
            w.u8(reason.rawValue)
            w.string(message)
        case let .reject(reason, message):
            w.u8(reason.rawValue)
            w.string(message)
        case let .shardOpen(open):
            open.write(to: &w)
        case let .shardReady(runId, index, version):
            w.u64(runId)
            w.u32(index)
            w.u64(version)
        case let .shardRead(read):
            read.write(to: &w)
        case let .shardRows(rows):
            rows.write(to: &w)
        case let .shardApply(apply):
            apply.write(to: &w)
        case let .shardApplied(version, problem):
            w.u64(version)
            w.string(problem)
        case let .shardExport(table, start, count):
            w.u8(table.rawValue)
            w.u32(start)
            w.u32(count)
        case let .shardSave(version, step):
            w.u64(version)
            w.u64(step)
        case let .shardSaved(version, step, checksum, bytes):
            w.u64(version)
            w.u64(step)
            w.u32(checksum)
            w.u64(bytes)
        }
        return w.bytes
    }

    /// Decodes a payload of the given tag; every byte must be consumed.
    static func decodePayload(tag: MessageTag, _ payload: [UInt8]) throws(WireError) -> Message {
        var r = ByteReader(payload)
        let message: Message
        switch tag {
        case .hello:
            message = .hello(incarnation: try r.u64("hello incarnation"), lastVersion: try r.u64("hello lastVersion"),
                             runId: try r.u64("hello runId"), workerName: try r.string("hello workerName"))
        case .welcome:
            message = .welcome(workerId: try r.u32("welcome workerId"), runId: try r.u64("welcome runId"),
                               currentVersion: try r.u64("welcome currentVersion"), spec: try TrainingSpec.read(from: &r))
        case .step:
            message = .step(try Step.read(from: &r))
        case .gradient:
            message = .gradient(try Gradient.read(from: &r))
        case .heartbeat:
            message = .heartbeat(version: try r.u64("heartbeat version"))
        case .reset:
            let code = try r.u8("reset reason")
            guard let reason = ResetReason(rawValue: code) else { throw .invalid("reset reason \(code)") }
            message = .reset(reason, try r.string("reset message"))
        case .shutdown:
            let code = try r.u8("shutdown reason")
            guard let reason = ShutdownReason(rawValue: code) else { throw .invalid("shutdown reason \(code)") }
            message = .shutdown(reason, try r.string("shutdown message"))
        case .reject:
            let code = try r.u8("reject reason")
            guard let reason = RejectReason(rawValue: code) else { throw .invalid("reject reason \(code)") }
            message = .reject(reason, try r.string("reject message"))
        case .shardOpen:
            message = .shardOpen(try ShardOpen.read(from: &r))
        case .shardReady:
            message = .shardReady(runId: try r.u64("shard_ready runId"), index: try r.u32("shard_ready index"),
                                  version: try r.u64("shard_ready version"))
        case .shardRead:
            message = .shardRead(try ShardRead.read(from: &r))
        case .shardRows:
            message = .shardRows(try ShardRows.read(from: &r))
        case .shardApply:
            message = .shardApply(try ShardApply.read(from: &r))
        case .shardApplied:
            message = .shardApplied(version: try r.u64("shard_applied version"),
                                    problem: try r.string("shard_applied problem"))
        case .shardExport:
            let code = try r.u8("shard_export table")
            guard let table = ShardTable(rawValue: code) else { throw .invalid("shard_export table \(code)") }
            message = .shardExport(table: table, start: try r.u32("shard_export start"),
                                   count: try r.u32("shard_export count"))
        case .shardSave:
            message = .shardSave(version: try r.u64("shard_save version"), step: try r.u64("shard_save step"))
        case .shardSaved:
            message = .shardSaved(version: try r.u64("shard_saved version"), step: try r.u64("shard_saved step"),
                                  checksum: try r.u32("shard_saved checksum"), bytes: try r.u64("shard_saved bytes"))
        }
        try r.finish()
        return message
    }

    /// Enough capacity that the writer need not grow while encoding the large messages.
    private var estimatedPayloadSize: Int {
        func rows(_ b: RowBlock) -> Int { 8 + 4 * b.ids.count + 4 * b.values.count }
        switch self {
        case let .welcome(_, _, _, spec): return 64 + 4 * spec.popularity.count
        case let .step(s):
            return 40 + rows(s.users) + rows(s.items) + rows(s.bank) + s.tasks.reduce(0) { $0 + 12 + 8 * $1.users.count }
        case let .gradient(g): return 48 + rows(g.users) + rows(g.items)
        case let .shardRead(read): return 24 + 4 * (read.users.count + read.items.count + read.bank.count)
        case let .shardRows(s): return 16 + rows(s.users) + rows(s.items) + rows(s.bank)
        case let .shardApply(a):
            return 16 + a.minibatches.reduce(0) { $0 + 20 + rows($1.users) + rows($1.items) + 4 * $1.followed.count }
        default: return 64
        }
    }
}
