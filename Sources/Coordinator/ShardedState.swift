import Foundation
import Kernels
import Replication
import Transport
import Wire

/// The coordinator's parameters held by S shard processes (`--shards`; `RowPartition`): each request goes to every
/// shard at once with the ids it owns, and the answers are merged back into the order asked. The coordinator keeps
/// no table. Every answer is checked like any peer's bytes: it must carry the request's sequence number, the
/// shard's version, exactly the rows asked for, of the run's width, finite and within the parameter limit.
///
/// A request unanswered for four times the typical exchange (a moving average of the exchanges that needed no
/// resend; at least 50 ms) is sent again with the same sequence number, then after twice as long each time, up to
/// 8 s: a shard answers a repeat of the request it answered last from its copy of that answer (`ShardServer`), so a
/// lost request or answer costs a resend, never a step applied twice.
public final class ShardedState {
    public let partitions: [RowPartition]
    public let dim: Int
    public let userCount: Int
    public let itemCount: Int
    public let addresses: [String]
    private let links: [any DealerTransport]
    private let timeout: Double
    /// The moving average of an exchange's time, seconds: a request goes again after four times it.
    private var typicalExchange: Double
    private let limit: Float
    public private(set) var version: UInt64 = 0
    /// Requests sent to all the shards at once and waited for so far (each a round trip).
    public private(set) var exchanges = 0
    /// Prepare-only reads sent (not waited for).
    public private(set) var prepared = 0
    /// The last request's sequence number: it starts at random, so that no answer to an earlier connection's
    /// request (an attempt to restore passed over, a coordinator before a restart) passes for one to this one's.
    private var sequence = UInt64.random(in: 1 ... 1 << 62)

    /// Opens the run on every shard (`template` with each shard's index) and waits for their READY. `restore`:
    /// the checkpoint each shard restores (one per shard, all of the same step), or nil for fresh parameters.
    public init(links: [any DealerTransport], addresses: [String], open template: ShardOpen,
         restore: [ShardRestore]? = nil, timeout: Double) throws {
        precondition(links.count == addresses.count && links.count == Int(template.count), "one link per shard")
        precondition(restore == nil || restore!.count == links.count, "one checkpoint per shard")
        self.links = links
        self.addresses = addresses
        self.timeout = timeout
        typicalExchange = 0.05
        partitions = (0 ..< links.count).map { RowPartition(index: $0, count: links.count) }
        dim = Int(template.dim)
        userCount = Int(template.users)
        itemCount = Int(template.items)
        limit = template.parameterLimit
        let answers = try exchange(partitions.map { p in
            var open = template
            open.index = UInt32(p.index)
            open.restore = restore?[p.index]
            return .shardOpen(open)
        })
        let expected = restore?.first?.version ?? 0
        for (k, answer) in answers.enumerated() {
            guard case let .shardReady(runId, index, at) = answer, runId == template.runId, Int(index) == k else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) answered SHARD_OPEN with \(answer.name)")
            }
            guard at == expected else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) already holds this run at version \(at): restart it to begin the run again")
            }
        }
        version = expected
    }

    /// Sends request k to shard k (all at once) and returns their answers, in shard order. A request unanswered
    /// for a while is sent again (same sequence number). A REJECT, or no answer past the timeout, ends the run with
    /// an error naming the shard (`ShardFailure`).
    private func exchange(_ requests: [Message]) throws -> [Message] {
        sequence += 1
        exchanges += 1
        let asked = sequence
        let deadline = Date().addingTimeInterval(timeout)
        func send(_ k: Int) throws -> Bool {
            try links[k].send(Envelope(sender: 0, sequence: asked, message: requests[k]))
        }
        for k in requests.indices {
            // A link takes messages only once connected (ZMQ_IMMEDIATE): a shard starting up is waited for.
            while try !send(k) {
                guard Date() < deadline else {
                    throw ShardFailure(shard: k, "shard \(k + 1) at \(addresses[k]) could not be reached within \(Int(timeout)) s to send \(requests[k].name)")
                }
                usleep(20_000)
            }
        }
        var answers = [Message?](repeating: nil, count: requests.count)
        let started = Date()
        var interval = max(0.05, 4 * typicalExchange)
        var resendAt = started.addingTimeInterval(interval)
        var resent = false
        for k in requests.indices {
            while answers[k] == nil {
                let now = Date()
                guard now < deadline else {
                    throw ShardFailure(shard: k, "shard \(k + 1) at \(addresses[k]) did not answer \(requests[k].name) within \(Int(timeout)) s")
                }
                if now >= resendAt {
                    for j in k ..< requests.count where answers[j] == nil { _ = try send(j) }
                    resent = true
                    interval = min(2 * interval, 8)
                    resendAt = now.addingTimeInterval(interval)
                }
                let wait = min(deadline, resendAt).timeIntervalSince(now)
                guard let received = try links[k].receive(timeoutMilliseconds: max(1, Int(wait * 1000))),
                      case let .message(_, envelope) = received, envelope.sequence == asked else { continue }
                if case let .reject(reason, text) = envelope.message {
                    throw ShardFailure(shard: k, refused: true, "shard \(k + 1) at \(addresses[k]) refused \(requests[k].name) (\(reason)): \(PeerText.escaped(text))")
                }
                answers[k] = envelope.message
            }
        }
        if !resent { typicalExchange = 0.9 * typicalExchange + 0.1 * min(Date().timeIntervalSince(started), 2) }
        return answers.map { $0! }
    }

    /// Writes every shard's rows as its checkpoint of coordinator step `step` (at the current version) and returns
    /// what each reported of its file, once all have: the files are on the shards' disks.
    public func save(step: UInt64) throws -> [ShardedCheckpoint.ShardFile] {
        let answers = try exchange(partitions.map { _ in .shardSave(version: version, step: step) })
        return try answers.enumerated().map { k, answer in
            guard case let .shardSaved(at, saved, checksum, bytes) = answer, at == version, saved == step else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) answered SHARD_SAVE with \(answer.name)")
            }
            return ShardedCheckpoint.ShardFile(checksum: checksum, bytes: bytes)
        }
    }

    /// The rows at `ids` (strictly ascending) of one block of each answer, merged in the order asked.
    private func merge(_ blocks: [RowBlock], ids: [UInt32], limit rows: Int, _ what: String) throws -> SparseRows {
        for (k, block) in blocks.enumerated() {
            do {
                try block.validate(rowLimit: rows, dim: dim, what, maxAbs: limit)
            } catch {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) sent unusable \(what): \(error)")
            }
            guard block.ids == ids.filter(partitions[k].owns) else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) sent other \(what) rows than were asked for")
            }
        }
        var next = [Int](repeating: 0, count: blocks.count)
        var values = [Float]()
        values.reserveCapacity(ids.count * dim)
        for id in ids {
            let k = Int(id) % blocks.count
            let row = next[k]
            next[k] += 1
            values.append(contentsOf: blocks[k].values[row * dim ..< (row + 1) * dim])
        }
        return SparseRows(dim: dim, ids: ids, values: values)
    }

    /// The rows a STEP carries at the current version: users, items and bank rows (at their item rows' lengths
    /// when `bankAtLiveLength`), ids strictly ascending.
    public func rows(users: [UInt32], items: [UInt32], bank: [UInt32], bankAtLiveLength: Bool) throws
        -> (users: SparseRows, items: SparseRows, bank: SparseRows)
    {
        let answers = try exchange(partitions.map { p in
            .shardRead(ShardRead(version: version, bankAtLiveLength: bankAtLiveLength, users: users.filter(p.owns),
                                 items: items.filter(p.owns), bank: bank.filter(p.owns)))
        })
        let blocks = try answers.enumerated().map { k, answer in
            guard case let .shardRows(rows) = answer, rows.version == version else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) answered SHARD_READ with \(answer.name)")
            }
            return rows
        }
        return (try merge(blocks.map(\.users), ids: users, limit: userCount, "users"),
                try merge(blocks.map(\.items), ids: items, limit: itemCount, "items"),
                try merge(blocks.map(\.bank), ids: bank, limit: itemCount, "bank"))
    }

    /// Asks every shard to bring the rows a step will read up to the current version (dense Adam's catch-up) and
    /// does not wait: sent while the workers compute the step before, so that the shards do it meanwhile and
    /// reading the rows later costs only the last step's catch-up. A shard carries out its requests in order, so
    /// the catch-up happens at this version, before the step is applied; its answer (no rows) arrives with a
    /// sequence number of its own and is dropped by the next exchange. A lost request only leaves the catch-up to
    /// the read.
    public func prepare(users: [UInt32], items: [UInt32], bank: [UInt32], bankAtLiveLength: Bool) throws {
        sequence += 1
        prepared += 1
        for p in partitions {
            let request = Message.shardRead(ShardRead(version: version, bankAtLiveLength: bankAtLiveLength, prepareOnly: true,
                                                      users: users.filter(p.owns), items: items.filter(p.owns),
                                                      bank: bank.filter(p.owns)))
            _ = try links[p.index].send(Envelope(sender: 0, sequence: sequence, message: request))
        }
    }

    /// Applies a step: each shard gets every minibatch's rows that it owns (in minibatch order) and the bank rows
    /// to follow. Returns the first unusable parameter a shard reports, or nil.
    public func apply(_ contributions: [MinibatchContribution], learningRateScale: Float) throws -> String? {
        let answers = try exchange(partitions.map { p in
            .shardApply(ShardApply(version: version, learningRateScale: learningRateScale, minibatches: contributions.map { c in
                ShardContribution(examples: UInt32(c.examples), lossSum: c.lossSum,
                                  users: RowBlock(Self.owned(c.users, p)), items: RowBlock(Self.owned(c.items, p)),
                                  followed: TaskReads.sortedUnique((c.positives + c.trainedBankNegatives).filter(p.owns)))
            }))
        })
        var problem: String?
        for (k, answer) in answers.enumerated() {
            guard case let .shardApplied(at, text) = answer, at == version + 1 else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) answered SHARD_APPLY with \(answer.name)")
            }
            if problem == nil && !text.isEmpty { problem = "\(PeerText.escaped(text)) (shard \(k + 1))" }
        }
        version += 1
        return problem
    }

    /// `rows`' rows that `p` owns, ids kept global.
    private static func owned(_ rows: SparseRows, _ p: RowPartition) -> SparseRows {
        var out = SparseRows(dim: rows.dim)
        for k in rows.ids.indices where p.owns(rows.ids[k]) { out.append(id: rows.ids[k], row: rows.row(k)) }
        return out
    }

    /// Visits a whole table in global row order, `sliceRows` rows at a time (an even count, so that every slice but
    /// the last is a whole number of 8-byte words): `body` gets the slice's first global row and its values. Each
    /// slice asks every shard for its rows of that range (SHARD_EXPORT) and merges them; nothing more is held.
    public func forEachSlice(_ which: ShardTable, sliceRows: Int = 16_384,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        precondition(sliceRows > 0 && sliceRows % 2 == 0, "slices of an even number of rows")
        let total = which == .users ? userCount : itemCount
        let count = partitions.count
        var slice = [Float](repeating: 0, count: min(sliceRows, total) * dim)
        var a = 0
        while a < total {
            let b = min(a + sliceRows, total)
            // Shard k's rows in [a, b): its local rows ⌈(a − k)/S⌉ ..< ⌈(b − k)/S⌉.
            let ranges = partitions.map { p -> Range<Int> in
                func local(_ g: Int) -> Int { g <= p.index ? 0 : (g - p.index + count - 1) / count }
                return local(a) ..< local(b)
            }
            let answers = try exchange(partitions.map { p in
                .shardExport(table: which, start: UInt32(ranges[p.index].lowerBound), count: UInt32(ranges[p.index].count))
            })
            try slice.withUnsafeMutableBufferPointer { values in
                for (k, answer) in answers.enumerated() {
                    guard case let .shardRows(rows) = answer else {
                        throw TrainerError("shard \(k + 1) at \(addresses[k]) answered SHARD_EXPORT with \(answer.name)")
                    }
                    let block = which == .users ? rows.users : which == .items ? rows.items : rows.bank
                    do {
                        try block.validate(rowLimit: total, dim: dim, "\(which) slice", maxAbs: .greatestFiniteMagnitude)
                    } catch {
                        throw TrainerError("shard \(k + 1) at \(addresses[k]) sent an unusable \(which) slice: \(error)")
                    }
                    guard block.ids.elementsEqual(ranges[k].lazy.map { self.partitions[k].global($0) }) else {
                        throw TrainerError("shard \(k + 1) at \(addresses[k]) sent other \(which) rows than were asked for")
                    }
                    block.values.withUnsafeBufferPointer { source in
                        for (r, id) in block.ids.enumerated() {
                            let row = Int(id) - a
                            for j in 0 ..< dim { values[row * dim + j] = source[r * dim + j] }
                        }
                    }
                }
            }
            try slice.withUnsafeBufferPointer { try body(a, UnsafeBufferPointer(rebasing: $0[0 ..< (b - a) * dim])) }
            a = b
        }
    }

    /// The user rows `ids` (strictly ascending), gathered from the shards `sliceRows` at a time, as a table of
    /// ids.count rows in that order.
    public func userRows(_ ids: [UInt32], sliceRows: Int = 16_384) throws -> EmbeddingTable {
        var values: [Float] = []
        values.reserveCapacity(ids.count * dim)
        var start = 0
        while start < ids.count {
            let slice = Array(ids[start ..< min(start + sliceRows, ids.count)])
            values += try rows(users: slice, items: [], bank: [], bankAtLiveLength: false).users.values
            start += slice.count
        }
        return EmbeddingTable(rows: ids.count, dim: dim, values: values)
    }

    /// The whole of one table, gathered from the shards.
    public func table(_ which: ShardTable) throws -> EmbeddingTable {
        let table = EmbeddingTable(rows: which == .users ? userCount : itemCount, dim: dim)
        try table.withUnsafeMutableValues { values in
            try forEachSlice(which) { first, slice in
                for (k, v) in slice.enumerated() { values[first * dim + k] = v }
            }
        }
        return table
    }

    /// Bytes moved over the links to the shards so far.
    public var traffic: (sent: Int, received: Int) {
        links.reduce((0, 0)) { ($0.0 + Int($1.traffic.bytesSent), $0.1 + Int($1.traffic.bytesReceived)) }
    }

    public func close() {
        for link in links { link.close() }
    }
}

/// A shard that did not answer in time, or refused a request: the run cannot go on with its rows as they are.
public struct ShardFailure: Error, CustomStringConvertible {
    /// The shard (0-based).
    public let shard: Int
    /// Whether the shard answered with REJECT (it is alive), rather than not at all.
    public let refused: Bool
    public let description: String

    init(shard: Int, refused: Bool = false, _ description: String) {
        self.shard = shard
        self.refused = refused
        self.description = description
    }
}
