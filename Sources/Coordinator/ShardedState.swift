import Foundation
import Kernels
import Replication
import Transport
import Wire

/// The coordinator's parameters held by S shard processes (`--shards`; `RowPartition`): each request goes to every
/// shard at once with the ids it owns, and the answers are merged back into the order asked. The coordinator keeps
/// no table. Every answer is checked like any peer's bytes: it must carry the request's sequence number, the
/// shard's version, exactly the rows asked for, of the run's width, finite and within the parameter limit.
final class ShardedState {
    let partitions: [RowPartition]
    let dim: Int
    let userCount: Int
    let itemCount: Int
    let addresses: [String]
    private let links: [any DealerTransport]
    private let timeout: Double
    private let limit: Float
    private(set) var version: UInt64 = 0
    private var sequence: UInt64 = 0

    /// Opens the run on every shard (`template` with each shard's index) and waits for their READY.
    init(links: [any DealerTransport], addresses: [String], open template: ShardOpen, timeout: Double) throws {
        precondition(links.count == addresses.count && links.count == Int(template.count), "one link per shard")
        self.links = links
        self.addresses = addresses
        self.timeout = timeout
        partitions = (0 ..< links.count).map { RowPartition(index: $0, count: links.count) }
        dim = Int(template.dim)
        userCount = Int(template.users)
        itemCount = Int(template.items)
        limit = template.parameterLimit
        let answers = try exchange(partitions.map { p in
            var open = template
            open.index = UInt32(p.index)
            return .shardOpen(open)
        })
        for (k, answer) in answers.enumerated() {
            guard case let .shardReady(runId, index, at) = answer, runId == template.runId, Int(index) == k else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) answered SHARD_OPEN with \(answer.name)")
            }
            guard at == 0 else {
                throw TrainerError("shard \(k + 1) at \(addresses[k]) already holds this run at version \(at): restart it to begin the run again")
            }
        }
    }

    /// Sends request k to shard k (all at once) and returns their answers, in shard order. A REJECT, a stale
    /// answer past the timeout, or no answer at all ends the run with an error naming the shard.
    private func exchange(_ requests: [Message]) throws -> [Message] {
        sequence += 1
        let asked = sequence
        let deadline = Date().addingTimeInterval(timeout)
        for (k, request) in requests.enumerated() {
            // A link takes messages only once connected (ZMQ_IMMEDIATE): a shard starting up is waited for.
            while try !links[k].send(Envelope(sender: 0, sequence: asked, message: request)) {
                guard Date() < deadline else {
                    throw TrainerError("shard \(k + 1) at \(addresses[k]) could not be reached within \(Int(timeout)) s to send \(request.name)")
                }
                usleep(20_000)
            }
        }
        var answers = [Message?](repeating: nil, count: requests.count)
        for k in requests.indices {
            while answers[k] == nil {
                let left = Int(deadline.timeIntervalSinceNow * 1000)
                guard left > 0, let received = try links[k].receive(timeoutMilliseconds: left) else {
                    throw TrainerError("shard \(k + 1) at \(addresses[k]) did not answer \(requests[k].name) within \(Int(timeout)) s")
                }
                guard case let .message(_, envelope) = received, envelope.sequence == asked else { continue }
                if case let .reject(reason, text) = envelope.message {
                    throw TrainerError("shard \(k + 1) at \(addresses[k]) refused \(requests[k].name) (\(reason)): \(PeerText.escaped(text))")
                }
                answers[k] = envelope.message
            }
        }
        return answers.map { $0! }
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
    func rows(users: [UInt32], items: [UInt32], bank: [UInt32], bankAtLiveLength: Bool) throws
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

    /// Applies a step: each shard gets every minibatch's rows that it owns (in minibatch order) and the bank rows
    /// to follow. Returns the first unusable parameter a shard reports, or nil.
    func apply(_ contributions: [MinibatchContribution], learningRateScale: Float) throws -> String? {
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
    func forEachSlice(_ which: ShardTable, sliceRows: Int = 16_384,
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

    /// The whole of one table, gathered from the shards.
    func table(_ which: ShardTable) throws -> EmbeddingTable {
        let table = EmbeddingTable(rows: which == .users ? userCount : itemCount, dim: dim)
        try table.withUnsafeMutableValues { values in
            try forEachSlice(which) { first, slice in
                for (k, v) in slice.enumerated() { values[first * dim + k] = v }
            }
        }
        return table
    }

    /// Bytes moved over the links to the shards so far.
    var traffic: (sent: Int, received: Int) {
        links.reduce((0, 0)) { ($0.0 + Int($1.traffic.bytesSent), $0.1 + Int($1.traffic.bytesReceived)) }
    }

    func close() {
        for link in links { link.close() }
    }
}
