import Coordinator
import Foundation
@testable import FuzzTargets
import Kernels
import TestSupport
import Replication
import RunSettings
import Wire

/// The seed inputs of each fuzz target, built from real encoded messages, checkpoints and key files. They are
/// committed as `Fuzz/corpus/TARGET/seed-NAME`; `FuzzCorpusTests` checks that the files match (and rewrites them
/// when FUZZ_WRITE_SEEDS=1).
enum FuzzSeeds {
    static func seeds(_ target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        switch target {
        case .envelope: return envelope()
        case .message: return message()
        case .stepRows: return stepRows()
        case .checkpoint: return checkpoint()
        case .keyFile: return keyFile()
        case .coordinatorProtocol: return coordinatorProtocol()
        case .workerProtocol: return workerProtocol()
        case .shardService: return shardService()
        case .shardLink: return shardLink()
        }
    }

    static let specs: [(String, TrainingSpec)] = [
        ("spec", WireSamples.spec),
        ("spec-ccl-masked", TrainingSpec(
            users: 2, items: 3, dim: 2,
            loss: LossSettings(kind: .ccl, similarity: .dot, temperature: 0.1, negatives: 3, removeAccidentalHits: true,
                               mixInBatch: true, liveNegatives: true, cclMargin: 0.3, cclNegativeWeight: 2,
                               maskSeenItems: true),
            sampler: .uniform, popularityAlpha: 0, seed: 1, seenCounts: [2, 1], seenItems: [0, 2, 1])),
        ("spec-hard-negatives", TrainingSpec(
            users: 2, items: 3, dim: 2,
            loss: LossSettings(kind: .bankInfoNCE, temperature: 0.1, negatives: 2, positiveTemperature: 0.12,
                               trainedBankNegatives: true, hardNegatives: 1, hardNegativePool: 3, hardNegativeSkip: 1),
            sampler: .uniform, popularityAlpha: 0, seed: 1, seenCounts: [1, 2], seenItems: [2, 0, 1])),
    ]

    static func messages() -> [(String, Envelope)] {
        var out = zip(["hello", "welcome", "step", "gradient", "heartbeat", "reset", "shutdown", "reject"], WireSamples.all).map { ($0, $1) }
        out.append(("welcome-ccl-masked", Envelope(sender: 0, sequence: 3,
                                                   message: .welcome(workerId: 1, runId: 2, currentVersion: 3, spec: specs[1].1))))
        out.append(("welcome-hard-negatives", Envelope(sender: 0, sequence: 4, message: .welcome(
            workerId: 1, runId: 2, currentVersion: 3, spec: specs[2].1))))
        out.append(("step-big", WireSamples.bigStep(rows: 3, dim: 2, tasks: 2, pairs: 3)))
        for (name, message) in shardMessages() {
            out.append((name, Envelope(sender: 0, sequence: 9, message: message)))
        }
        return out
    }

    static func envelope() -> [(String, [UInt8])] {
        var out = messages().map { name, envelope in
            let (header, payload) = WireCodec.encode(envelope)
            return (name, FuzzInput.encode(frames: [header, payload]))
        }
        let (header, payload) = WireCodec.encode(WireSamples.heartbeat)
        out.append(("one-frame", FuzzInput.encode(frames: [header])))
        out.append(("three-frames", FuzzInput.encode(frames: [header, payload, payload])))
        var version1 = header
        version1[4] = 1
        out.append(("version-1", FuzzInput.encode(frames: [version1, payload])))
        return out
    }

    static func message() -> [(String, [UInt8])] {
        messages().map { name, envelope in (name, [UInt8(envelope.message.tag)] + WireCodec.encode(envelope).payload) }
    }

    /// STEP payloads for the `step-rows` spec (3 users, 4 items, dim 2, two live negatives a minibatch): one that
    /// carries exactly the rows its tasks read, one without a row a task reads, one with its ids out of order, one
    /// with more rows than its one task reads.
    static func stepRows() -> [(String, [UInt8])] {
        let spec = WireFuzzing.stepSpec
        let negatives = TaskNegatives(spec: spec)!
        let tasks = [MinibatchTask(epoch: 0, minibatch: 0, users: [0, 2], items: [1, 3]),
                     MinibatchTask(epoch: 0, minibatch: 1, users: [1], items: [0])]
        let reads = TaskReads.union(tasks.map { negatives.reads(for: $0, negatives: negatives.draw(for: $0).ids) })
        func block(_ ids: [UInt32]) -> RowBlock {
            RowBlock(dim: 2, ids: ids, values: ids.flatMap { [Float($0) * 0.25 + 0.1, 0.5 - Float($0) * 0.125] })
        }
        func payload(users: [UInt32], items: [UInt32], tasks: [MinibatchTask]) -> [UInt8] {
            let step = Step(step: 3, version: 2, users: block(users), items: block(items), bank: .empty(dim: 2), tasks: tasks)
            return WireCodec.encode(Envelope(sender: 0, sequence: 1, message: .step(step))).payload
        }
        let honest = payload(users: reads.users, items: reads.items, tasks: tasks)
        return [
            ("honest", FuzzInput.encode(frames: [honest])),
            ("missing-item", FuzzInput.encode(frames: [payload(users: reads.users, items: Array(reads.items.dropLast()), tasks: tasks)])),
            ("unordered-then-honest", FuzzInput.encode(frames: [payload(users: reads.users.reversed(), items: reads.items, tasks: tasks), honest])),
            ("one-task-of-two", FuzzInput.encode(frames: [payload(users: reads.users, items: reads.items, tasks: [tasks[1]])])),
        ]
    }

    /// A checkpoint a few Adam steps in, as a whole file (mode byte 0) and as a body (mode byte 1, 3, 5).
    static func checkpoint() -> [(String, [UInt8])] {
        let optimizer = OptimizerSettings(kind: .adam, learningRate: 0.05)
        let state = TrainingState(userCount: 3, itemCount: 2, dim: 2, initStd: 0.2, seed: 5, momentum: 0.6, optimizer: optimizer)
        var random = SeededRandom(seed: 1)
        func g(_ ids: [UInt32]) -> SparseRows {
            SparseRows(dim: 2, ids: ids, values: (0 ..< ids.count * 2).map { _ in Float(random.nextGaussian()) })
        }
        _ = state.apply([MinibatchContribution(examples: 2, lossSum: 1, users: g([0, 2]), items: g([1]), positives: [1])])
        var audit = EpochAudit()
        audit.add([3, 0, 2])
        let checkpoint = Checkpoint(runId: 9, cursor: TrainingCursor(step: 2, version: 1, epoch: 0, minibatch: 2),
                                    shape: RunShape(minibatchSize: 2, minibatchesPerStep: 1, seed: 3), audit: audit, state: state)
        let file = checkpoint.encodedBytes()
        let body = Array(file[12 ..< file.count - 4])
        let sgd = TrainingState(userCount: 1, itemCount: 1, dim: 1, initStd: 0.2, seed: 5, momentum: 0.6,
                                optimizer: OptimizerSettings(kind: .sgd, learningRate: 0.1))
        let small = Checkpoint(runId: 1, cursor: TrainingCursor(), shape: RunShape(minibatchSize: 1, minibatchesPerStep: 1, seed: 0),
                               audit: EpochAudit(), state: sgd).encodedBytes()
        return [("file", [0] + file), ("body-adam", [1] + body), ("body-as-adagrad", [3] + body),
                ("sgd-file", [4] + small), ("sgd-body", [5] + Array(small[12 ..< small.count - 4])),
                ("truncated", [0] + file.prefix(40))]
    }

    /// The key pair of ZeroMQ's RFC 26 examples.
    static let publicKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    static let secretKey = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
    static let otherPublicKey = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

    static func keyFile() -> [(String, [UInt8])] {
        let files = [
            ("secret", "# CurveZMQ secret key of w1: keep it private\n\(secretKey)\n"),
            ("public", "\(publicKey)\n"),
            ("authorized", "# workers\n\(publicKey)\n\n  \(otherPublicKey)  \n"),
            ("crlf", "# windows\r\n\(otherPublicKey)\r\n"),
            ("short", "rq:rM>}U?@Lns47E1%kR\n"),
            ("bad-char", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~\n"),
        ]
        return files.map { ($0, Array($1.utf8)) }
    }

    /// Two workers join, become ready and train the whole schedule (2 epochs of 5 minibatches, 2 per step), with
    /// variants: one worker dies and the other finishes, a worker restarts and floods HELLOs.
    static func coordinatorProtocol() -> [(String, [UInt8])] {
        typealias S = ProtocolScript
        let join = S.message(.hello(incarnation: 1, lastVersion: 0, runId: 0, workerName: "a"), peer: 0)
            + S.message(.hello(incarnation: 2, lastVersion: 0, runId: 0, workerName: "b"), peer: 1)
            + S.message(.heartbeat(version: 0), peer: 0) + S.message(.heartbeat(version: 0), peer: 1)
        func gradient(step: UInt64, epoch: UInt32, minibatch: UInt32, peer: Int) -> [UInt8] {
            S.message(.gradient(Gradient(step: step, version: step - 1, epoch: epoch, minibatch: minibatch, examples: 2,
                                         lossSum: 1, users: RowBlock(dim: 2, ids: [0], values: [1, 2]), items: .empty(dim: 2))),
                      peer: peer, advance: 1)
        }
        // Steps of 2 minibatches: members 1 and 2 take alternate tasks of each step.
        var whole = join
        var step: UInt64 = 1
        for epoch: UInt32 in 0 ..< 2 {
            for first in stride(from: 0, to: 5, by: 2) {
                for minibatch in first ..< min(first + 2, 5) {
                    whole += gradient(step: step, epoch: epoch, minibatch: UInt32(minibatch), peer: (minibatch - first) % 2)
                }
                step += 1
            }
        }
        let lost = join + gradient(step: 1, epoch: 0, minibatch: 0, peer: 0)
            + S.message(.heartbeat(version: 0), peer: 0, advance: 6) + S.message(.heartbeat(version: 0), peer: 0, advance: 6)
            + gradient(step: 1, epoch: 0, minibatch: 1, peer: 0)
        let restart = join + S.message(.hello(incarnation: 3, lastVersion: 0, runId: 7, workerName: "a"), peer: 0)
            + S.message(.hello(incarnation: 3, lastVersion: 0, runId: 7, workerName: "a"), peer: 0)
            + S.message(.heartbeat(version: 0), peer: 0) + S.message(.heartbeat(version: 0), peer: 1)
            + [S.op(kind: 6), 0]
        let unknown = S.message(.heartbeat(version: 0), peer: 2) + S.message(.gradient(Gradient(
            step: 1, version: 0, epoch: 0, minibatch: 0, examples: 1, lossSum: 0, users: .empty(dim: 2), items: .empty(dim: 2))), peer: 3)
        return [("whole-run", whole), ("worker-lost", lost), ("restart-hello-early-stop", restart), ("unknown-peers", unknown)]
    }

    /// A worker is welcomed and computes the tasks of its STEPs, with variants: a stale STEP, a RESET for a new run,
    /// a silent coordinator, a refusal.
    static func workerProtocol() -> [(String, [UInt8])] {
        typealias S = ProtocolScript
        let spec = WireSamples.spec
        func step(_ step: UInt64, version: UInt64, tasks: Int = 1) -> [UInt8] {
            S.message(.step(Step(step: step, version: version, users: RowBlock(dim: 2, ids: [0], values: [0, 1]),
                                 items: RowBlock(dim: 2, ids: [1], values: [1, 0]), bank: .empty(dim: 2),
                                 tasks: (0 ..< tasks).map { MinibatchTask(epoch: 0, minibatch: UInt32($0), users: [0], items: [1]) })),
                      advance: 2)
        }
        let welcome = [S.op(kind: 5)] + S.message(.welcome(workerId: 1, runId: 7, currentVersion: 3, spec: spec))
        let run = welcome + step(4, version: 3) + step(5, version: 4, tasks: 2) + step(5, version: 4)
            + S.message(.heartbeat(version: 5)) + S.message(.shutdown(.finished, "done"))
        let stale = welcome + step(6, version: 5) + step(5, version: 4) + step(7, version: 6)
        let reset = welcome + step(4, version: 3) + S.message(.reset(.newRun, "new run"))
            + S.message(.reset(.declaredDead, "again"))
            + S.message(.welcome(workerId: 2, runId: 8, currentVersion: 0, spec: spec)) + step(1, version: 0)
        let silent = welcome + [S.op(kind: 5, advance: 7), S.op(kind: 5, advance: 7), S.op(kind: 5, advance: 2)]
            + S.message(.welcome(workerId: 1, runId: 7, currentVersion: 3, spec: spec))
        let refused = welcome + S.message(.reject(.notAdmitted, "no")) + step(4, version: 3)
        return [("whole-run", run), ("stale-step", stale), ("reset-new-run", reset),
                ("silent-coordinator", silent), ("refused", refused)]
    }

    /// A shard of 2 holding 5 users and 4 items at dim 2 (shard 1: users 1, 3; items 1, 3), and what is asked of it.
    static let shardOpen = ShardOpen(runId: 7, index: 1, count: 2, users: 5, items: 4, dim: 2, initStd: 0.5, seed: 3,
                                     momentum: 0.5, optimizerKind: 1, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                                     epsilon: 1e-8, weightDecay: 0, parameterLimit: 1e6)

    static func shardMessages() -> [(String, Message)] {
        let rows = RowBlock(dim: 2, ids: [1, 3], values: [0.5, -0.5, 0.25, 1])
        return [
            ("shard-open", .shardOpen(shardOpen)),
            ("shard-ready", .shardReady(runId: 7, index: 1, version: 0)),
            ("shard-read", .shardRead(ShardRead(version: 0, bankAtLiveLength: true, users: [1, 3], items: [1], bank: [1, 3]))),
            ("shard-rows", .shardRows(ShardRows(version: 0, users: rows, items: .empty(dim: 2), bank: rows))),
            ("shard-apply", .shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [
                ShardContribution(examples: 2, lossSum: 1.5, users: rows, items: RowBlock(dim: 2, ids: [3], values: [1, 1]),
                                  followed: [1, 3]),
                ShardContribution(examples: 1, lossSum: 0.5, users: .empty(dim: 2), items: .empty(dim: 2), followed: []),
            ]))),
            ("shard-applied", .shardApplied(version: 1, problem: "")),
            ("shard-export", .shardExport(table: .bank, start: 0, count: 2)),
            ("shard-save", .shardSave(version: 1, step: 2)),
            ("shard-saved", .shardSaved(version: 1, step: 2, checksum: 0xDEAD_BEEF, bytes: 4096)),
            ("shard-open-restore", .shardOpen(shardRestoring)),
            ("shard-read-prepare", .shardRead(ShardRead(version: 1, bankAtLiveLength: true, prepareOnly: true,
                                                        users: [1], items: [3], bank: [3]))),
        ]
    }

    /// The seeds' SHARD_OPEN, restoring a checkpoint (which a shard without a state directory refuses).
    static var shardRestoring: ShardOpen {
        var open = shardOpen
        open.restore = ShardRestore(step: 2, version: 1, checksum: 0xDEAD_BEEF)
        return open
    }

    /// Scripts for a shard: a whole run (open, read, apply, read at the new version, export), and one of requests
    /// it must refuse (before opening, stale versions, another shard's ids, another run).
    static func shardService() -> [(String, [UInt8])] {
        typealias S = ProtocolScript
        let messages = Dictionary(uniqueKeysWithValues: shardMessages())
        let open = S.message(messages["shard-open"]!)
        let read = S.message(messages["shard-read"]!)
        let apply = S.message(messages["shard-apply"]!)
        let readAfter = S.message(.shardRead(ShardRead(version: 1, bankAtLiveLength: false, users: [3], items: [1, 3], bank: [3])))
        let run = open + read + apply + readAfter + S.message(messages["shard-export"]!) + open
        var other = shardOpen
        other.runId = 8
        let refused = read + open + S.message(.shardRead(ShardRead(version: 0, bankAtLiveLength: false, users: [2], items: [], bank: [])))
            + apply + apply + S.message(.shardOpen(other)) + S.message(.shardExport(table: .users, start: 2, count: 1))
            + S.message(.heartbeat(version: 1))
        let nonFinite = open + S.message(.shardApply(ShardApply(version: 0, learningRateScale: 1, minibatches: [
            ShardContribution(examples: 1, lossSum: 0, users: RowBlock(dim: 2, ids: [1], values: [.nan, 0]),
                              items: .empty(dim: 2), followed: []),
        ]))) + read
        let checkpoints = open + apply + S.message(messages["shard-save"]!) + S.message(messages["shard-open-restore"]!)
            + S.message(messages["shard-read-prepare"]!) + readAfter
        return [("whole-run", run), ("refused", refused), ("open-only", open), ("non-finite", nonFinite),
                ("checkpoints", checkpoints)]
    }

    /// Scripts for the coordinator's side of two shard links (`ShardLinkFuzzing`: each receive takes a choice
    /// byte — 0 honest, 3 altered, 5 stale, 7 silent — and each request an op byte and id masks).
    static func shardLink() -> [(String, [UInt8])] {
        let open: [UInt8] = [0, 0]                                // both shards answer SHARD_OPEN
        let read: [UInt8] = [0, 0b111, 0b11011, 0b101, 0, 0]      // rows of 3 users, 4 items, 2 bank rows
        let apply: [UInt8] = [3, 0b101, 0b10, 0, 0]
        let slices: [UInt8] = [4] + Array(repeating: 0, count: 6)   // the users, 2 rows a slice
        let prepare: [UInt8] = [2, 0b11, 0b1, 0, 0]
        let honest = open + read + apply + read + slices + prepare + read
        let altered = open + [0, 0b111, 0b11011, 0b101, 0, 3, 0x05] + [0, 0b111, 0b11011, 0b101, 0, 3, 0x42]
        let stale = open + [0, 0b111, 0b11, 0b1, 5, 0, 0] + apply
        let silent = open + [0, 0b111, 0b11, 0b1, 7, 7, 6, 0, 0] + read
        return [("honest-run", honest), ("altered", altered), ("stale", stale), ("silent", silent)]
    }
}
