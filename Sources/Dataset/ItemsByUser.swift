/// Items grouped by user in compressed sparse rows: `items[offsets[u] ..< offsets[u + 1]]` are user `u`'s items.
public struct ItemsByUser: Sendable, Equatable {
    /// offsets (userCount + 1)
    public let offsets: [Int]
    /// items (offsets.last), grouped by user, each group in the order given.
    public let items: [UInt32]

    public var userCount: Int { offsets.count - 1 }

    /// Groups parallel `(users[k], items[k])` pairs by user, keeping their order inside each user.
    public init(userCount: Int, users: [UInt32], items: [UInt32]) {
        precondition(users.count == items.count, "ItemsByUser: \(users.count) users for \(items.count) items")
        var offsets = [Int](repeating: 0, count: userCount + 1)
        for u in users {
            precondition(Int(u) < userCount, "ItemsByUser: user \(u) outside 0..<\(userCount)")
            offsets[Int(u) + 1] += 1
        }
        for u in 0 ..< userCount { offsets[u + 1] += offsets[u] }
        var next = offsets
        var grouped = [UInt32](repeating: 0, count: items.count)
        for k in users.indices {
            let u = Int(users[k])
            grouped[next[u]] = items[k]
            next[u] += 1
        }
        self.offsets = offsets
        self.items = grouped
    }

    /// One list per user.
    public init(_ lists: [[UInt32]]) {
        var offsets = [0]
        offsets.reserveCapacity(lists.count + 1)
        var items = [UInt32]()
        items.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        for list in lists {
            items.append(contentsOf: list)
            offsets.append(items.count)
        }
        self.offsets = offsets
        self.items = items
    }

    public subscript(user: Int) -> ArraySlice<UInt32> { items[offsets[user] ..< offsets[user + 1]] }

    public func count(of user: Int) -> Int { offsets[user + 1] - offsets[user] }
}
