import Foundation
import Kernels
import Logging
import Replication
import RunSettings
import TestSupport
import Transport
import Wire
import Worker
import XCTest

/// A real worker process against whatever answers at its coordinator's address: specs it cannot honour end it with
/// a clear error before it allocates anything; STEPs and snapshots that break the spec are refused and leave its
/// replica exactly as it was (the next valid task's gradient is bit-identical to one computed in this process).
final class HostileCoordinatorTests: XCTestCase {
    let spec = TrainingSpec(users: 50, items: 40, dim: 8,
                            loss: LossSettings(kind: .bankInfoNCE, similarity: .cosine, temperature: 0.1, negatives: 16,
                                               removeAccidentalHits: true),
                            sampler: .uniform, popularityAlpha: 0, seed: 9)

    final class FakeCoordinator {
        let endpoint: RouterEndpoint
        let port: Int
        var worker: PeerID?
        var received: [Message] = []
        private var sequence: UInt64 = 0

        init() throws {
            var logger = Logger(label: "fake coordinator")
            logger.logLevel = .critical
            endpoint = try RouterEndpoint(bind: "tcp://127.0.0.1:0", maxMessageBytes: 1 << 30, logger: logger)
            port = Int(endpoint.boundEndpoint.split(separator: ":").last!)!
        }

        deinit { endpoint.close() }

        func send(_ message: Message) throws {
            sequence += 1
            _ = try endpoint.send(Envelope(sender: 0, sequence: sequence, message: message), to: worker!)
        }

        /// Receives until `done` finds what it waits for in a message, or `seconds` pass.
        @discardableResult
        func wait(seconds: Double, for done: (Message) -> Bool) throws -> Message? {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                guard case let .message(peer, envelope)? = try endpoint.receive(timeoutMilliseconds: 20) else { continue }
                worker = peer
                received.append(envelope.message)
                if done(envelope.message) { return envelope.message }
            }
            return nil
        }
    }

    func startWorker(_ fake: FakeCoordinator, in dir: URL, name: String) throws -> ProcessHarness.Running {
        try ProcessHarness.start("worker", ["--coordinator", "tcp://127.0.0.1:\(fake.port)", "--name", name,
                                            "--coordinator-timeout", "30", "--log-level", "debug"],
                                 logName: name, in: dir)
    }

    func isHello(_ m: Message) -> Bool { if case .hello = m { true } else { false } }

    func testSpecsAWorkerCannotHonourEndItWithAClearError() throws {
        let dir = try ProcessHarness.temporaryDirectory("hostile-spec")
        var bad: [(String, TrainingSpec)] = []
        for (what, edit) in [("τ 0", { (s: inout TrainingSpec) in s.loss.temperature = 0 }),
                             ("τ NaN", { $0.loss.temperature = .nan }), ("τ negative", { $0.loss.temperature = -0.1 }),
                             ("dim 0", { $0.dim = 0 }), ("users 2³²−1", { $0.users = 0xFFFF_FFFF }),
                             ("negatives 2³²−1", { $0.loss.negatives = 0xFFFF_FFFF }),
                             ("100 M × 100 M × 64", { $0.users = 100_000_000; $0.items = 100_000_000; $0.dim = 64 })]
            as [(String, (inout TrainingSpec) -> Void)] {
            var s = spec
            edit(&s)
            bad.append((what, s))
        }
        for (i, (what, s)) in bad.enumerated() {
            let fake = try FakeCoordinator()
            let worker = try startWorker(fake, in: dir, name: "victim\(i)")
            defer { if worker.process.isRunning { worker.signal(SIGKILL) } }
            XCTAssertNotNil(try fake.wait(seconds: 20, for: isHello), "\(what): no HELLO\n\(worker.log)")
            try fake.send(.welcome(workerId: 1, runId: 7, currentVersion: 0, spec: s))
            XCTAssertEqual(worker.wait(seconds: 20), WorkerMachine.unusableSpec, "\(what):\n\(worker.log)")
            XCTAssertTrue(worker.log.contains("cannot take part in run"), "\(what):\n\(worker.log)")
        }
    }

    func testStepsAndSnapshotsThatBreakTheSpecAreRefusedAndTheReplicaStaysExact() throws {
        let dir = try ProcessHarness.temporaryDirectory("hostile-step")
        let fake = try FakeCoordinator()
        let worker = try startWorker(fake, in: dir, name: "victim")
        defer { if worker.process.isRunning { worker.signal(SIGKILL) } }
        XCTAssertNotNil(try fake.wait(seconds: 20, for: isHello), worker.log)
        try fake.send(.welcome(workerId: 1, runId: 7, currentVersion: 5, spec: spec))

        // A snapshot whose chunks claim to be complete without the bank is not a replica.
        var random = SeededRandom(seed: 3)
        let users = EmbeddingTable(rows: 50, dim: 8, normalStd: 0.3, random: &random)
        let items = EmbeddingTable(rows: 40, dim: 8, normalStd: 0.3, random: &random)
        let bank = EmbeddingTable(rows: 40, dim: 8, normalStd: 0.3, random: &random)
        let chunks = SnapshotChunker.chunks(version: 5, users: users, items: items, bank: bank)
        for chunk in chunks where chunk.table != .bank {
            var forged = chunk
            forged.chunkCount = 2
            try fake.send(.snapshot(forged))
        }
        XCTAssertNotNil(try fake.wait(seconds: 10) { if case .sync = $0 { true } else { false } },
                        "a snapshot without its bank must be asked for again\n\(worker.log)")
        XCTAssertFalse(fake.received.contains(.heartbeat(version: 5)), "the worker claimed an incomplete replica")

        // The real snapshot: the worker reports the version.
        for chunk in chunks { try fake.send(.snapshot(chunk)) }
        XCTAssertNotNil(try fake.wait(seconds: 10) { $0 == .heartbeat(version: 5) }, worker.log)

        // STEPs that would crash, hang or poison a replica.
        let d = 8
        func rows(_ ids: [UInt32], dim: Int = 8, value: Float = 0.25) -> RowBlock {
            RowBlock(dim: dim, ids: ids, values: [Float](repeating: value, count: ids.count * dim))
        }
        let task = MinibatchTask(epoch: 0, minibatch: 0, users: [1, 2, 3, 4], items: [5, 6, 7, 8])
        func step(version: UInt64 = 6, users: RowBlock = .empty(dim: 8), items: RowBlock = .empty(dim: 8),
                  bank: RowBlock = .empty(dim: 8), tasks: [MinibatchTask] = []) -> Message {
            .step(Step(step: 1, baseVersion: 5, version: version, userDelta: users, itemDelta: items, bankDelta: bank,
                       tasks: tasks))
        }
        let hostile: [Message] = [
            step(users: rows([50])), step(items: rows([0xFFFF_FFFF])), step(bank: rows([3], dim: d + 1)),
            step(bank: RowBlock.empty(dim: 0)),
            step(users: rows([1], value: .nan)), step(items: rows([2, 2])), step(version: .max),
            step(tasks: [MinibatchTask(epoch: 0, minibatch: 0, users: [50], items: [1])]),
            step(tasks: [MinibatchTask(epoch: 0, minibatch: 0, users: [1], items: [40])]),
            step(tasks: [task, task]),
            .reject(.invalidContent, "not final: the worker goes on"),
        ]
        for message in hostile { try fake.send(message) }
        try fake.wait(seconds: 1.5) { _ in false }
        XCTAssertTrue(worker.process.isRunning, worker.log)
        XCTAssertFalse(fake.received.contains { if case .gradient = $0 { true } else { false } }, "answered a refused STEP")
        XCTAssertTrue(worker.log.contains("refused a message from the coordinator"), worker.log)

        // The valid STEP: its gradient equals one computed here on the same replica, bit for bit.
        let delta = rows([4, 9], value: 0.5)
        try fake.send(step(users: delta, items: rows([7]), bank: rows([7], value: 0.1), tasks: [task]))
        let answer = try fake.wait(seconds: 20) { if case .gradient = $0 { true } else { false } }
        guard case let .gradient(g)? = answer else { return XCTFail("no gradient\n\(worker.log)") }
        let replica = Replica(userCount: 50, itemCount: 40, dim: 8)
        for chunk in chunks { _ = try replica.receive(chunk) }
        replica.apply(baseVersion: 5, version: 6, users: delta, items: rows([7]), bank: rows([7], value: 0.1))
        let expected = try TaskComputer(spec: spec).gradient(for: task, step: 1, replica: replica, hash: 0)
        XCTAssertEqual(g.users.values.map(\.bitPattern), expected.users.values.map(\.bitPattern))
        XCTAssertEqual(g.items.values.map(\.bitPattern), expected.items.values.map(\.bitPattern))
        XCTAssertEqual(g.lossSum.bitPattern, expected.lossSum.bitPattern)

        try fake.send(.shutdown(.finished, "done"))
        XCTAssertEqual(worker.wait(seconds: 20), 0, worker.log)
    }
}
