import Foundation
import TestSupport
import Wire
import XCTest

/// A real coordinator and two real workers train while attackers, admitted like any worker, send every input that
/// once crashed, hung, exhausted or poisoned a coordinator: gradients with rows beyond the tables, of the wrong
/// dim, with a wrong example count, NaN, ±∞ or 3e38 values, repeated rows, rows of users or items outside the task,
/// a NaN or impossible loss; answers to another worker's task; a member that heartbeats but never answers; a HELLO
/// flood; a HELLO flood; a name that forges log lines. The coordinator must stay up, refuse and log each, drop the
/// senders, and end with parameters bit-identical to a run without attackers.
final class HostileWorkerTests: XCTestCase {
    func flags(port: Int, output: URL) -> [String] {
        ["--bind", "tcp://127.0.0.1:\(port)", "--workers", "2", "--epochs", "6",
         "--synthetic-users", "1500", "--synthetic-items", "800", "--batch-size", "384", "--minibatch-size", "128",
         "--negatives", "512", "--dim", "16", "--lr", "0.01", "--verify-replicas", "--heartbeat-timeout", "1",
         "--task-timeout", "2", "--max-workers", "7", "--output", output.path, "--log-level", "info"]
    }

    struct Run {
        var coordinator: ProcessHarness.Running
        var output: URL
        var status: Int32?
        var users: [Float] { (try? ProcessHarness.readNpy(output.appendingPathComponent("user_embeddings.npy")).values) ?? [] }
        var items: [Float] { (try? ProcessHarness.readNpy(output.appendingPathComponent("item_embeddings.npy")).values) ?? [] }
        var lines: [[String: Any]] { (try? ProcessHarness.jsonLines(output.appendingPathComponent("metrics.jsonl"))) ?? [] }
    }

    /// Runs a coordinator and two workers; `attack` runs while they train.
    func run(_ name: String, attack: (Int) throws -> Void) throws -> Run {
        let dir = try ProcessHarness.temporaryDirectory(name)
        let port = ProcessHarness.freePort()
        let output = dir.appendingPathComponent("run")
        let coordinator = try ProcessHarness.start("coordinator", flags(port: port, output: output),
                                                   logName: "coordinator", in: dir)
        let workers = try (1 ... 2).map { i in
            try ProcessHarness.start("worker", ["--coordinator", "tcp://127.0.0.1:\(port)", "--name", "honest\(i)"],
                                     logName: "worker\(i)", in: dir)
        }
        defer {
            for w in workers where w.process.isRunning { w.signal(SIGKILL) }
            if coordinator.process.isRunning { coordinator.signal(SIGKILL) }
        }
        try attack(port)
        let status = coordinator.wait(seconds: 300)
        for w in workers { XCTAssertEqual(w.wait(seconds: 20), 0, "honest worker:\n\(w.log)") }
        return Run(coordinator: coordinator, output: output, status: status)
    }

    enum Spoil: CaseIterable {
        case rowBeyondTable, wrongDim, noExamples, extraExample, nanValues, infValues, hugeValues, duplicateRows,
             foreignUser, nanLoss, foreignItem, impossibleLoss, emptyBlockOfDimZero

        func apply(_ g: inout Gradient, spec: TrainingSpec, task: MinibatchTask) {
            let dim = spec.dim
            switch self {
            case .rowBeyondTable: g.users = RowBlock(dim: dim, ids: [UInt32(spec.users)], values: [Float](repeating: 1, count: dim))
            case .wrongDim: g.users = RowBlock(dim: dim + 1, ids: [task.users[0]], values: [Float](repeating: 1, count: dim + 1))
            case .noExamples: g.examples = 0
            case .extraExample: g.examples += 1
            case .nanValues: g.users.values[0] = .nan
            case .infValues: g.items.values[dim - 1] = -.infinity
            case .hugeValues: g.users.values = g.users.values.map { _ in 3e38 }
            case .duplicateRows:
                g.users = RowBlock(dim: dim, ids: [task.users[0], task.users[0]], values: [Float](repeating: 1, count: 2 * dim))
            case .foreignUser:
                let outsider = (0 ..< UInt32(spec.users)).first { !task.users.contains($0) }!
                g.users = RowBlock(dim: dim, ids: [outsider], values: [Float](repeating: 1, count: dim))
            case .nanLoss: g.lossSum = .nan
            case .foreignItem:
                let outsider = (0 ..< UInt32(spec.items)).first { !task.items.contains($0) }!
                g.items = RowBlock(dim: dim, ids: [outsider], values: [Float](repeating: 1, count: dim))
            case .impossibleLoss: g.lossSum = -1e6
            case .emptyBlockOfDimZero: g.items = RowBlock.empty(dim: 0)
            }
        }
    }

    func testAttackersCannotCrashStallExhaustOrPoisonARun() throws {
        let clean = try run("clean") { _ in }
        XCTAssertEqual(clean.status, 0, clean.coordinator.log)

        var outcome: [String: [RejectReason]] = [:]
        let attacked = try run("attacked") { port in
            // A member that heartbeats and takes a task but never answers: declared hung after --task-timeout.
            let hung = try Attacker(port: port)
            let held = try XCTUnwrap(hung.joinAndTakeATask(name: "hung"), "the hung attacker got no task")
            // Another member answers the hung one's pending task, under its own id and under the victim's.
            let thief = try Attacker(port: port)
            XCTAssertTrue(try thief.join(name: "thief"))
            var stolen = thief.plausibleGradient(for: held.task, of: held.step)
            stolen.users.values = stolen.users.values.map { _ in 0 }
            try thief.send(.gradient(stolen))
            try thief.send(.gradient(stolen), sender: hung.workerId)
            try thief.send(.gradient(stolen))
            try thief.pump(seconds: 5, until: { thief.rejects.contains(.dropped) })
            outcome["thief"] = thief.rejects
            try hung.pump(seconds: 10, until: { hung.resets > 0 })
            outcome["hung"] = hung.rejects
            XCTAssertGreaterThan(hung.resets, 0, "the hung member was not declared dead")

            // Spoiled gradients, three per attacker: the third drops it.
            for (n, group) in stride(from: 0, to: Spoil.allCases.count, by: 3).enumerated() {
                let attacker = try Attacker(port: port)
                let (step, task) = try XCTUnwrap(attacker.joinAndTakeATask(name: "spoiler\(n)"), "spoiler \(n) got no task")
                // Three spoiled answers each (the last group repeats its last kind): the third drops the attacker.
                for k in 0 ..< 3 {
                    let spoil = Spoil.allCases[min(group + k, Spoil.allCases.count - 1)]
                    var g = attacker.plausibleGradient(for: task, of: step)
                    spoil.apply(&g, spec: attacker.spec!, task: task)
                    try attacker.send(.gradient(g))
                }
                try attacker.pump(seconds: 5, until: { attacker.rejects.contains(.dropped) })
                outcome["spoiler\(n)"] = attacker.rejects
            }

            // A name that would forge log lines, then a flood of repeated HELLOs (each would be answered with a
            // WELCOME, megabytes with the seen items); it never heartbeats, so it dies quietly.
            let flooder = try Attacker(port: port)
            let name = "evil\nERROR forged line\u{1B}[31m\u{0}"
            XCTAssertTrue(try flooder.join(name: name, heartbeat: false))
            for _ in 0 ..< 2000 { try flooder.hello(name: name) }
            try flooder.pump(seconds: 1, heartbeat: false)
            outcome["flooder"] = flooder.rejects
            XCTAssertLessThanOrEqual(flooder.welcomes, 3, "2,000 HELLOs must not buy more than a WELCOME or two")

            // A HELLO flood from 30 connections: at most --max-workers members.
            let crowd = try (0 ..< 30).map { _ in try Attacker(port: port) }
            Thread.sleep(forTimeInterval: 0.3)   // connected
            for (i, a) in crowd.enumerated() { try a.hello(name: "crowd\(i)") }
            for a in crowd { try a.pump(seconds: 0.1, heartbeat: false) }
            outcome["crowd"] = crowd.flatMap(\.rejects)
        }
        XCTAssertEqual(attacked.status, 0, "the attacked coordinator failed:\n\(attacked.coordinator.log)")
        let log = attacked.coordinator.log

        // Every attacker was told, and the ones that broke rules were dropped.
        for name in ["thief", "spoiler0", "spoiler1", "spoiler2", "spoiler3", "spoiler4"] {
            XCTAssertTrue(outcome[name]?.contains(.dropped) ?? false, "\(name): \(outcome[name] ?? [])")
        }
        XCTAssertEqual(outcome["thief"]?.filter { $0 == .notAssigned }.count, 3)
        XCTAssertTrue(outcome["flooder"]?.contains(.rateLimited) ?? false)
        XCTAssertGreaterThanOrEqual(outcome["crowd"]?.filter { $0 == .tooManyWorkers }.count ?? 0, 20)

        // Counted by reason in metrics.jsonl, and logged.
        let end = try XCTUnwrap(attacked.lines.last { $0["event"] as? String == "end" })
        let rejected = try XCTUnwrap(end["rejected"] as? [String: Int], "\(end)")
        for key in ["not_assigned", "gradient_foreign_user", "gradient_users_dim", "gradient_examples",
                    "gradient_users_not_finite", "gradient_items_not_finite", "gradient_users_too_large",
                    "gradient_users_duplicate_row", "gradient_loss_not_finite", "gradient_foreign_item",
                    "gradient_loss_range", "gradient_items_dim", "hello_rate", "too_many_workers"] {
            XCTAssertGreaterThan(rejected[key] ?? 0, 0, "\(key) not counted: \(rejected)")
        }
        XCTAssertGreaterThanOrEqual(end["hung_members"] as? Int ?? 0, 1)
        XCTAssertEqual(end["replica_mismatches"] as? Int, 0)
        XCTAssertTrue(log.contains("refused a message from worker"), log)
        XCTAssertTrue(log.contains("hung: no gradient for task"), log)
        // The forged name appears escaped, never as a line of its own or with raw control bytes.
        XCTAssertTrue(log.contains(#"evil\nERROR forged line\u{1b}[31m\u{0}"#), log)
        XCTAssertFalse(log.contains("\nERROR forged line"))
        XCTAssertFalse(log.contains("\u{1B}[31m"))

        // Nothing the attackers sent reached the model: every epoch audited exact, the tables bit for bit.
        let epochs = attacked.lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.count, 6)
        XCTAssertTrue(epochs.allSatisfy { $0["audit_exact"] as? Bool == true })
        XCTAssertFalse(clean.users.isEmpty)
        XCTAssertEqual(attacked.users.map(\.bitPattern), clean.users.map(\.bitPattern), "user table differs")
        XCTAssertEqual(attacked.items.map(\.bitPattern), clean.items.map(\.bitPattern), "item table differs")
    }
}
