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
                             ("2³¹−1 × 2³¹−1 (sampler and seen-item tables beyond --max-memory)",
                              { $0.users = 0x7FFF_FFFF; $0.items = 0x7FFF_FFFF })]
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

    func testStepsThatBreakTheSpecAreRefusedAndTheNextGradientIsExact() throws {
        let dir = try ProcessHarness.temporaryDirectory("hostile-step")
        let fake = try FakeCoordinator()
        let worker = try startWorker(fake, in: dir, name: "victim")
        defer { if worker.process.isRunning { worker.signal(SIGKILL) } }
        XCTAssertNotNil(try fake.wait(seconds: 20, for: isHello), worker.log)
        try fake.send(.welcome(workerId: 1, runId: 7, currentVersion: 5, spec: spec))
        XCTAssertNotNil(try fake.wait(seconds: 10) { $0 == .heartbeat(version: 5) }, "admitted: no state to load\n\(worker.log)")

        // The coordinator's tables, and the STEP that carries exactly what a task reads from them.
        var random = SeededRandom(seed: 3)
        let users = EmbeddingTable(rows: 50, dim: 8, normalStd: 0.3, random: &random)
        let items = EmbeddingTable(rows: 40, dim: 8, normalStd: 0.3, random: &random)
        let bank = EmbeddingTable(rows: 40, dim: 8, normalStd: 0.3, random: &random)
        let task = MinibatchTask(epoch: 0, minibatch: 0, users: [1, 2, 3, 4], items: [5, 6, 7, 8])
        let negatives = try XCTUnwrap(TaskNegatives(spec: spec))
        let reads = negatives.reads(for: task, negatives: negatives.draw(for: task).ids)
        let honest = Step(step: 1, version: 6, users: RowBlock(users.rows(reads.users)),
                          items: RowBlock(items.rows(reads.items)), bank: RowBlock(bank.rows(reads.bank)), tasks: [task])

        // STEPs that would crash, hang or poison a worker.
        let d = 8
        func rows(_ ids: [UInt32], dim: Int = 8, value: Float = 0.25) -> RowBlock {
            RowBlock(dim: dim, ids: ids, values: [Float](repeating: value, count: ids.count * dim))
        }
        func step(users: RowBlock = .empty(dim: 8), items: RowBlock = .empty(dim: 8),
                  bank: RowBlock = .empty(dim: 8), tasks: [MinibatchTask] = [task]) -> Message {
            .step(Step(step: 1, version: 6, users: users, items: items, bank: bank, tasks: tasks))
        }
        var missing = honest
        missing.bank = RowBlock(dim: d, ids: Array(honest.bank.ids.dropLast()), values: Array(honest.bank.values.dropLast(d)))
        let hostile: [Message] = [
            step(users: rows([50])), step(items: rows([0xFFFF_FFFF])), step(bank: rows([3], dim: d + 1)),
            step(bank: RowBlock.empty(dim: 0)), step(users: rows([2, 1])),
            step(users: rows([1], value: .nan)), step(items: rows([2, 2])),
            step(tasks: [MinibatchTask(epoch: 0, minibatch: 0, users: [50], items: [1])]),
            step(tasks: [MinibatchTask(epoch: 0, minibatch: 0, users: [1], items: [40])]),
            step(tasks: [task, task]),
            .step(missing),
            .reject(.invalidContent, "not final: the worker goes on"),
        ]
        for message in hostile { try fake.send(message) }
        try fake.wait(seconds: 1.5) { _ in false }
        XCTAssertTrue(worker.process.isRunning, worker.log)
        XCTAssertFalse(fake.received.contains { if case .gradient = $0 { true } else { false } }, "answered a refused STEP")
        XCTAssertTrue(worker.log.contains("refused a message from the coordinator"), worker.log)
        XCTAssertTrue(worker.log.contains("step_bank_row_missing"), worker.log)

        // The valid STEP: its gradient equals one computed here from the whole tables, bit for bit.
        try fake.send(.step(honest))
        let answer = try fake.wait(seconds: 20) { if case .gradient = $0 { true } else { false } }
        guard case let .gradient(g)? = answer else { return XCTFail("no gradient\n\(worker.log)") }
        let computer = try TaskComputer(spec: spec)
        let (drawn, logQ) = computer.negatives(for: task)
        let expected = MinibatchGradientComputer(settings: spec.loss, dim: d, seenItems: try spec.seenItemLists())
            .compute(users: task.users, items: task.items, userTable: users, itemTable: items, bank: bank,
                     negatives: drawn, negativeLogQ: logQ)
        XCTAssertEqual(g.version, 6)
        XCTAssertEqual(g.users.ids, expected.users.ids)
        XCTAssertEqual(g.users.values.map(\.bitPattern), expected.users.values.map(\.bitPattern))
        XCTAssertEqual(g.items.values.map(\.bitPattern), expected.items.values.map(\.bitPattern))
        XCTAssertEqual(g.lossSum.bitPattern, expected.lossSum.bitPattern)

        try fake.send(.shutdown(.finished, "done"))
        XCTAssertEqual(worker.wait(seconds: 20), 0, worker.log)
    }
}
