/// Interactions as read from a file with arbitrary ids, before the split: ids remapped dense in order of first
/// appearance, one timestamp per interaction (file order when the file has none).
struct InteractionLog {
    var users = [UInt32]()
    var items = [UInt32]()
    var timestamps = [Double]()
    var userIds = DenseIds()
    var itemIds = DenseIds()

    mutating func append(user: UnsafeBufferPointer<UInt8>, item: UnsafeBufferPointer<UInt8>, timestamp: Double) {
        users.append(userIds.id(for: user))
        items.append(itemIds.id(for: item))
        timestamps.append(timestamp)
    }

    /// Splits each user's interactions by time (ties by file order) into training pairs (kept in file order) and
    /// test items (in time order).
    func split(_ split: DatasetLoader.TemporalSplit, name: String) -> InteractionData {
        let userCount = userIds.count
        let byUser = ItemsByUser(userCount: userCount, users: users, items: Array(0 ..< UInt32(users.count)))
        var isTest = [Bool](repeating: false, count: users.count)
        var testItems = [[UInt32]](repeating: [], count: userCount)
        for u in 0 ..< userCount {
            // This user's interaction indices, in file order; a stable sort by time keeps ties in file order.
            let indices = byUser[u]
            let n = indices.count
            let keep: Int
            switch split {
            case .leaveLastOut: keep = n >= 2 ? n - 1 : n
            case .ratio(let fraction): keep = min(n, max(1, Int((fraction * Double(n)).rounded())))
            }
            if keep == n { continue }
            let ordered = indices.sorted { timestamps[Int($0)] != timestamps[Int($1)] ? timestamps[Int($0)] < timestamps[Int($1)] : $0 < $1 }
            for k in ordered[keep...] {
                isTest[Int(k)] = true
                testItems[u].append(items[Int(k)])
            }
        }
        var trainUsers = [UInt32](), trainItems = [UInt32]()
        trainUsers.reserveCapacity(users.count)
        trainItems.reserveCapacity(users.count)
        for k in users.indices where !isTest[k] {
            trainUsers.append(users[k])
            trainItems.append(items[k])
        }
        return InteractionData(
            name: name, userCount: userCount, itemCount: itemIds.count,
            trainUsers: trainUsers, trainItems: trainItems, testItems: testItems,
            userNames: userIds.names, itemNames: itemIds.names)
    }
}

/// Arbitrary string ids mapped to dense ids 0, 1, ... in order of first appearance.
struct DenseIds {
    private var ids = [String: UInt32]()
    private(set) var names = [String]()

    var count: Int { names.count }

    mutating func id(for token: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let name = Bytes.string(token)
        if let id = ids[name] { return id }
        let id = UInt32(names.count)
        ids[name] = id
        names.append(name)
        return id
    }
}

extension DatasetLoader.TemporalSplit {
    func validate() {
        if case .ratio(let fraction) = self {
            precondition(fraction > 0 && fraction <= 1, "TemporalSplit.ratio must be in (0, 1], got \(fraction)")
        }
    }
}
