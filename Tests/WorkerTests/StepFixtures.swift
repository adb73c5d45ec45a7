import Kernels
import Replication
import Wire
@testable import Worker

/// Whole tables as the coordinator holds them, and the STEPs it would send from them.
struct WholeTables {
    let users: EmbeddingTable
    let items: EmbeddingTable
    let bank: EmbeddingTable
    let version: UInt64

    /// Random tables (the same for the same arguments); the bank is a table of its own, as after some steps.
    init(users: Int, items: Int, dim: Int, std: Float = 1, version: UInt64 = 6) {
        var random = SeededRandom(seed: 77)
        self.users = EmbeddingTable(rows: users, dim: dim, normalStd: std, random: &random)
        self.items = EmbeddingTable(rows: items, dim: dim, normalStd: std, random: &random)
        bank = EmbeddingTable(rows: items, dim: dim, normalStd: std, random: &random)
        self.version = version
    }

    /// The STEP the coordinator sends with these tasks: exactly the rows they read (`TaskReads`).
    func step(_ tasks: [MinibatchTask], spec: TrainingSpec, step: UInt64) -> Step {
        let negatives = TaskNegatives(spec: spec)!
        let rows = TaskReads.union(tasks.map { negatives.reads(for: $0, negatives: negatives.draw(for: $0).ids) })
        return Step(step: step, version: version, users: RowBlock(users.rows(rows.users)),
                    items: RowBlock(items.rows(rows.items)), bank: RowBlock(bank.rows(rows.bank)), tasks: tasks)
    }
}

extension TaskComputer {
    /// The gradient of `task` computed as a worker computes it: from the STEP that carries it alone.
    func gradient(for task: MinibatchTask, step: UInt64, tables: WholeTables, hash: UInt64 = 0) throws -> Gradient {
        let message = tables.step([task], spec: spec, step: step)
        return try gradient(for: task, of: message, rows: StepRows(message, dim: spec.dim), hash: hash)
    }
}
