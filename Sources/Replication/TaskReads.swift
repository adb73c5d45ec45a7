import Kernels
import RunSettings
import Wire

/// The rows one task reads at the step's version, by table, each list ascending without repeats: what its STEP
/// must carry. Users: the task's users. Items: its positives, and the negatives of the losses that read them from
/// the item table (live negatives, BPR). Bank: the negatives read from the bank, and the hard-negative pool.
public struct TaskReads: Equatable, Sendable {
    public var users: [UInt32]
    public var items: [UInt32]
    public var bank: [UInt32]

    public init(users: [UInt32], items: [UInt32], bank: [UInt32]) {
        self.users = users
        self.items = items
        self.bank = bank
    }

    /// The rows of several tasks together (one STEP), ascending without repeats.
    public static func union(_ reads: [TaskReads]) -> TaskReads {
        TaskReads(users: sortedUnique(reads.flatMap(\.users)), items: sortedUnique(reads.flatMap(\.items)),
                  bank: sortedUnique(reads.flatMap(\.bank)))
    }

    /// Rows in all three lists.
    public var count: Int { users.count + items.count + bank.count }

    /// `ids` ascending, each once.
    public static func sortedUnique(_ ids: [UInt32]) -> [UInt32] {
        var sorted = ids
        sorted.sort()
        var out: [UInt32] = []
        out.reserveCapacity(sorted.count)
        for id in sorted where out.last != id { out.append(id) }
        return out
    }
}

extension TaskNegatives {
    /// Whether the negatives are read from the item table (live negatives, BPR) rather than from the bank.
    public var negativesFromItems: Bool { loss.kind == .bpr || loss.liveNegatives }

    /// The rows `task` reads, given its negatives (`draw(for:)`): the hard-negative pool (`pool(for:)`) is read from
    /// the bank.
    public func reads(for task: MinibatchTask, negatives: [UInt32]) -> TaskReads {
        let fromItems = negativesFromItems
        return TaskReads(users: TaskReads.sortedUnique(task.users),
                         items: TaskReads.sortedUnique(fromItems ? task.items + negatives : task.items),
                         bank: TaskReads.sortedUnique((fromItems ? [] : negatives) + pool(for: task)))
    }
}

/// A STEP's rows as tables a worker computes from: each block's values as a table of its rows, and each id's row
/// found by binary search in the block's ascending ids.
public struct StepRows {
    public let users: EmbeddingTable
    public let items: EmbeddingTable
    public let bank: EmbeddingTable
    private let userIds: [UInt32]
    private let itemIds: [UInt32]
    private let bankIds: [UInt32]

    /// `step` has passed `TrainingSpec.refusal(of:within:)`: blocks of the spec's dim, ids strictly ascending.
    public init(_ step: Step, dim: Int) {
        func table(_ block: RowBlock) -> EmbeddingTable {
            EmbeddingTable(rows: block.ids.count, dim: dim, values: block.values)
        }
        users = table(step.users)
        items = table(step.items)
        bank = table(step.bank)
        userIds = step.users.ids
        itemIds = step.items.ids
        bankIds = step.bank.ids
    }

    /// The rows of a task: where each of its users, positives and negatives is in these tables; a refusal naming
    /// the first id the STEP does not carry.
    public func rows(users taskUsers: [UInt32], items taskItems: [UInt32], negatives: [UInt32],
                     negativesFromItems: Bool, pool: [UInt32] = []) throws(Refusal) -> MinibatchRows {
        let userRows = try Self.positions(of: taskUsers, in: userIds, "user")
        let itemRows = try Self.positions(of: taskItems, in: itemIds, "item")
        let negativeRows = try Self.positions(of: negatives, in: negativesFromItems ? itemIds : bankIds,
                                              negativesFromItems ? "item" : "bank")
        return MinibatchRows(users: users, userRows: userRows, items: items, itemRows: itemRows,
                             negatives: negativesFromItems ? items : bank, negativeRows: negativeRows,
                             pool: bank, poolRows: try Self.positions(of: pool, in: bankIds, "bank"))
    }

    static func positions(of ids: [UInt32], in sorted: [UInt32], _ table: String) throws(Refusal) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: ids.count)
        for (k, id) in ids.enumerated() {
            var low = 0, high = sorted.count
            while low < high {
                let mid = (low + high) / 2
                if sorted[mid] < id { low = mid + 1 } else { high = mid }
            }
            guard low < sorted.count, sorted[low] == id else {
                throw .invalid("step_\(table)_row_missing", "the STEP does not carry \(table) row \(id), which a task reads")
            }
            out[k] = UInt32(low)
        }
        return out
    }
}
