import Coordinator
import Kernels
import Transport
import Wire

/// The coordinator's side of the shard links (`ShardedState`) facing two shards whose answers the input chooses:
/// an honest shard's answer (a real `ShardService`), the same with one value or id changed, any decoded message,
/// an answer to another request (a stale sequence number), damaged frames, or silence. The input then drives the
/// coordinator's requests (rows of a step, a prepare-only read, a step applied, table slices, a checkpoint).
///
/// Checked: nothing traps; whatever the coordinator accepts is exactly what it asked for — each row block has the
/// ids asked, in order, of the run's width, every value finite and within the run's limit — and its version moves
/// only by applied steps. Any other answer must end in an error (the run stops).
enum ShardLinkFuzzing {
    static let users = 6, items = 5, dim = 2
    static let limit: Float = 100

    /// The input, shared by both links and the driver.
    final class Script {
        var input: FuzzInput
        init(_ bytes: [UInt8]) { input = FuzzInput(bytes) }
    }

    /// One shard as the coordinator's DEALER sees it.
    final class ScriptedLink: DealerTransport {
        let index: Int
        let service = ShardService(maxValues: 1 << 16, maxDrawnValues: 1 << 18)
        let script: Script
        var pending: [Envelope] = []
        var traffic = TrafficCounters()

        init(index: Int, script: Script) {
            self.index = index
            self.script = script
        }

        /// Always taken: a link that is not connected yet makes the coordinator wait in real time, which would slow
        /// the fuzzer to a crawl for a path that only waits.
        func send(_ envelope: Envelope) throws(TransportError) -> Bool {
            pending.append(envelope)
            return true
        }

        func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received? {
            guard !script.input.isAtEnd else { throw .closed }   // the shard is gone: the run stops
            let choice = script.input.byte()
            guard let request = pending.first else {
                return choice & 1 == 0 ? nil : decoded(sequence: UInt64(choice))
            }
            switch choice % 8 {
            case 0, 1, 2:
                pending.removeFirst()
                return .message(.server, Envelope(sender: UInt32(index + 1), sequence: request.sequence,
                                                  message: service.answer(request.message)))
            case 3:
                pending.removeFirst()
                return .message(.server, Envelope(sender: UInt32(index + 1), sequence: request.sequence,
                                                  message: mutated(service.answer(request.message))))
            case 4:
                return decoded(sequence: request.sequence)
            case 5:
                return .message(.server, Envelope(sender: 1, sequence: request.sequence &- 1,
                                                  message: service.answer(request.message)))
            case 6:
                return .malformed(.server, .invalid("damaged frame"))
            default:
                return nil
            }
        }

        /// A message decoded from the next frame, sent as an answer with `sequence`.
        private func decoded(sequence: UInt64) -> Received? {
            let frame = script.input.frame()
            guard let tag = frame.first,
                  let envelope = try? WireCodec.fuzzDecode(tag: UInt16(tag), payload: Array(frame.dropFirst()))
            else { return nil }
            return .message(.server, Envelope(sender: UInt32(index + 1), sequence: sequence, message: envelope.message))
        }

        /// An honest answer with one thing changed, as the input says.
        private func mutated(_ answer: Message) -> Message {
            let how = script.input.byte()
            let values: [Float] = [.nan, .infinity, -.infinity, ShardLinkFuzzing.limit * 2, -0.0, 1e-30]
            func change(_ block: RowBlock) -> RowBlock {
                var b = block
                switch how % 4 {
                case 0 where !b.values.isEmpty:
                    b.values[Int(how >> 2) % b.values.count] = values[Int(how >> 4) % values.count]
                case 1 where !b.ids.isEmpty:
                    b.ids[Int(how >> 2) % b.ids.count] &+= UInt32(how >> 4) | 1
                case 2 where !b.ids.isEmpty:
                    b = RowBlock(dim: b.dim, ids: Array(b.ids.dropLast()), values: Array(b.values.dropLast(b.dim)))
                default:
                    b = RowBlock(dim: b.dim, ids: b.ids + [UInt32(how)], values: b.values + Array(repeating: 0.5, count: b.dim))
                }
                return b
            }
            switch answer {
            case var .shardRows(rows):
                switch how % 3 {
                case 0: rows.users = change(rows.users)
                case 1: rows.items = change(rows.items)
                default: rows.bank = change(rows.bank)
                }
                if how & 0x80 != 0 { rows.version &+= 1 }
                return .shardRows(rows)
            case let .shardReady(runId, index, version):
                return .shardReady(runId: how & 1 == 0 ? runId &+ 1 : runId, index: index &+ UInt32(how >> 1 & 1),
                                   version: version &+ UInt64(how >> 2 & 1))
            case let .shardApplied(version, problem):
                return .shardApplied(version: version &+ UInt64(how & 3), problem: how & 4 == 0 ? problem : "row 1 holds nan")
            default:
                return answer
            }
        }

        func close() {}
    }

    static func run(_ bytes: [UInt8]) throws(FuzzFailure) {
        let script = Script(bytes)
        let links = [ScriptedLink(index: 0, script: script), ScriptedLink(index: 1, script: script)]
        let open = ShardOpen(runId: 11, index: 0, count: 2, users: UInt32(users), items: UInt32(items), dim: UInt32(dim),
                             initStd: 0.3, seed: 5, momentum: 0.5, optimizerKind: 1, learningRate: 0.05, beta1: 0.9,
                             beta2: 0.999, epsilon: 1e-8, weightDecay: 0, parameterLimit: limit)
        guard let shards = try? ShardedState(links: links, addresses: ["a", "b"], open: open, timeout: 3600) else { return }
        guard shards.version == 0 else { throw FuzzFailure("opened at version \(shards.version)") }
        do {
            while !script.input.isAtEnd {
                let op = script.input.byte()
                let before = shards.version
                switch op % 5 {
                case 0, 1:
                    let (u, i, b) = (ids(script, users), ids(script, items), ids(script, items))
                    let read = try shards.rows(users: u, items: i, bank: b, bankAtLiveLength: op & 8 != 0)
                    try check(read.users, u, "users")
                    try check(read.items, i, "items")
                    try check(read.bank, b, "bank")
                case 2:
                    try shards.prepare(users: ids(script, users), items: ids(script, items), bank: [],
                                       bankAtLiveLength: op & 8 != 0)
                case 3:
                    let u = ids(script, users), i = ids(script, items)
                    func gradient(_ ids: [UInt32]) -> SparseRows {
                        SparseRows(dim: dim, ids: ids, values: ids.flatMap { id in [Float(id) / 8, -0.25] })
                    }
                    _ = try shards.apply([MinibatchContribution(examples: 1 + Int(op >> 5), lossSum: 1,
                                                                users: gradient(u), items: gradient(i), positives: i)],
                                         learningRateScale: 1)
                    guard shards.version == before + 1 else {
                        throw FuzzFailure("an applied step took the version from \(before) to \(shards.version)")
                    }
                    continue
                default:
                    let which = ShardTable.allCases[Int(op >> 3) % 3]
                    try shards.forEachSlice(which, sliceRows: 2) { _, slice in
                        guard slice.allSatisfy(\.isFinite) else { throw FuzzFailure("a \(which) slice with a non-finite value was accepted") }
                    }
                }
                guard shards.version == before else { throw FuzzFailure("the version moved without a step") }
            }
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            return   // a refused answer or a lost shard stops the run: what must happen
        }
    }

    /// Up to five ids below `count`, ascending without repeats, as the input says.
    static func ids(_ script: Script, _ count: Int) -> [UInt32] {
        let mask = script.input.byte()
        return (0 ..< min(count, 8)).filter { mask >> $0 & 1 == 1 }.map { UInt32($0) }
    }

    static func check(_ rows: SparseRows, _ asked: [UInt32], _ what: String) throws(FuzzFailure) {
        guard rows.ids == asked, rows.dim == dim, rows.values.count == asked.count * dim,
              rows.values.allSatisfy({ $0.isFinite && abs($0) <= limit }) else {
            throw FuzzFailure("accepted \(what) rows \(rows.ids) (dim \(rows.dim)) for \(asked), or values beyond the limit")
        }
    }
}
