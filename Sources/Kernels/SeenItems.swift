/// The items each user has in the training data, ascending and without repeats, in compressed sparse rows: user
/// u's items are `items[offsets[u] ..< offsets[u + 1]]`.
///
/// With them the softmax kernels mask, among a row's negatives, every item that the row's user has interacted
/// with, not only the row's own positive: on dense data a sampled negative is often such an item (a false
/// negative), and the ranking that the model is judged by leaves the user's training items out anyway.
public struct SeenItems: Sendable, Equatable {
    public let userCount: Int
    public let itemCount: Int
    /// offsets (userCount + 1), non-decreasing, from 0 to items.count.
    public let offsets: [Int]
    /// items (offsets[userCount]), each user's ascending without repeats, every one below itemCount.
    public let items: [UInt32]

    public enum ValidationError: Error, Equatable, CustomStringConvertible {
        case counts(Int, users: Int)
        case total(Int, items: Int)
        case itemOutOfRange(user: Int, item: UInt32, itemCount: Int)
        case notAscending(user: Int, item: UInt32, after: UInt32)

        public var description: String {
            switch self {
            case let .counts(n, users): return "seen items: \(n) per-user counts for \(users) users"
            case let .total(n, items): return "seen items: counts add up to \(n), but \(items) items follow"
            case let .itemOutOfRange(u, item, count): return "seen items: user \(u) has item \(item), outside 0..<\(count)"
            case let .notAscending(u, item, after):
                return "seen items: user \(u)'s items are not ascending without repeats (\(item) after \(after))"
            }
        }
    }

    /// Groups (users[k], items[k]) pairs by user, sorted, repeats dropped.
    public init(users: [UInt32], items: [UInt32], userCount: Int, itemCount: Int) {
        precondition(users.count == items.count, "SeenItems: \(users.count) users for \(items.count) items")
        var keys = [UInt64](repeating: 0, count: users.count)
        for k in users.indices {
            precondition(Int(users[k]) < userCount, "SeenItems: user \(users[k]) outside 0..<\(userCount)")
            precondition(Int(items[k]) < itemCount, "SeenItems: item \(items[k]) outside 0..<\(itemCount)")
            keys[k] = UInt64(users[k]) << 32 | UInt64(items[k])
        }
        keys.withUnsafeMutableBufferPointer { k in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: k.count) { radixSort(k, scratch: $0) }
        }
        var offsets = [Int](repeating: 0, count: userCount + 1)
        var grouped = [UInt32]()
        grouped.reserveCapacity(keys.count)
        var previous: UInt64?
        for key in keys where key != previous {
            previous = key
            offsets[Int(key >> 32) + 1] += 1
            grouped.append(UInt32(truncatingIfNeeded: key))
        }
        for u in 0 ..< userCount { offsets[u + 1] += offsets[u] }
        self.userCount = userCount
        self.itemCount = itemCount
        self.offsets = offsets
        self.items = grouped
    }

    /// From per-user counts and the items they add up to, as they cross the network; checked.
    public init(counts: [UInt32], items: [UInt32], itemCount: Int) throws(ValidationError) {
        var offsets = [Int](repeating: 0, count: counts.count + 1)
        for (u, n) in counts.enumerated() { offsets[u + 1] = offsets[u] + Int(n) }
        guard offsets[counts.count] == items.count else { throw .total(offsets[counts.count], items: items.count) }
        for u in counts.indices {
            var previous: UInt32?
            for item in items[offsets[u] ..< offsets[u + 1]] {
                guard Int(item) < itemCount else { throw .itemOutOfRange(user: u, item: item, itemCount: itemCount) }
                if let previous, item <= previous { throw .notAscending(user: u, item: item, after: previous) }
                previous = item
            }
        }
        self.userCount = counts.count
        self.itemCount = itemCount
        self.offsets = offsets
        self.items = items
    }

    /// Items per user, as `init(counts:items:itemCount:)` takes them.
    public var counts: [UInt32] { (0 ..< userCount).map { UInt32(offsets[$0 + 1] - offsets[$0]) } }

    public subscript(user: Int) -> ArraySlice<UInt32> { items[offsets[user] ..< offsets[user + 1]] }

    /// Whether `item` is among `user`'s items (binary search).
    public func contains(user: Int, item: UInt32) -> Bool {
        sortedRange(offsets[user] ..< offsets[user + 1], of: items, contains: item)
    }
}

/// What a kernel reads of `SeenItems` for one minibatch: the rows' users, the lists, and a lookup table. Valid while
/// the memory it points into lives.
public struct SeenItemsView {
    /// users (B): the user of each row.
    public let users: UnsafeBufferPointer<UInt32>
    /// offsets (userCount + 1) and items, as in `SeenItems`.
    public let offsets: UnsafeBufferPointer<Int>
    public let items: UnsafeBufferPointer<UInt32>
    /// slots (one per item of the catalogue) scratch: the kernel writes there the first key of each candidate item,
    /// and checks the key before it trusts an entry, so what earlier minibatches left in the others does not matter.
    public let slots: UnsafeMutableBufferPointer<Int32>

    public init(users: UnsafeBufferPointer<UInt32>, offsets: UnsafeBufferPointer<Int>, items: UnsafeBufferPointer<UInt32>,
                slots: UnsafeMutableBufferPointer<Int32>) {
        self.users = users
        self.offsets = offsets
        self.items = items
        self.slots = slots
    }

    /// Whether `item` is in the list of row `b`'s user (binary search).
    func contains(row b: Int, item: UInt32) -> Bool {
        let u = Int(users[b])
        return sortedRange(offsets[u] ..< offsets[u + 1], of: items, contains: item)
    }
}

/// Whether the ascending `items[range]` holds `item` (binary search).
private func sortedRange<Items: RandomAccessCollection>(_ range: Range<Int>, of items: Items, contains item: UInt32) -> Bool
    where Items.Index == Int, Items.Element == UInt32 {
    var lo = range.lowerBound, hi = range.upperBound
    while lo < hi {
        let mid = (lo + hi) / 2
        if items[mid] < item { lo = mid + 1 } else { hi = mid }
    }
    return lo < range.upperBound && items[lo] == item
}

extension SeenItems {
    /// Runs `body` with a view for the rows' users and a lookup table of `itemCount` entries, which `scratch`
    /// holds between calls.
    public func withView<R>(users: [UInt32], scratch: inout [Int32], _ body: (SeenItemsView) -> R) -> R {
        for u in users { precondition(Int(u) < userCount, "row user \(u) outside 0..<\(userCount)") }
        if scratch.count < itemCount { scratch = [Int32](repeating: 0, count: itemCount) }
        return users.withUnsafeBufferPointer { u in
            offsets.withUnsafeBufferPointer { o in
                items.withUnsafeBufferPointer { i in
                    scratch.withUnsafeMutableBufferPointer { s in
                        body(SeenItemsView(users: u, offsets: o, items: i,
                                           slots: UnsafeMutableBufferPointer(rebasing: s[0 ..< itemCount])))
                    }
                }
            }
        }
    }
}

/// The logit columns that each row must not score. A candidate column (a bank negative, or in-batch another row's
/// positive) is masked for row b when its item is row b's positive (an accidental hit) or, with seen items, one of
/// the items of row b's user; the row's own target column never is.
struct MaskedColumns {
    /// keys: the candidate columns as item id << 32 | column, sorted.
    let keys: UnsafeBufferPointer<UInt64>
    let seen: SeenItemsView?

    /// Sorts the candidates (`id(c)` the item of column `column(c)`, c < count) and runs `body`; with seen items
    /// the lookup table holds each candidate item's first key.
    static func with<R>(count: Int, id: (Int) -> UInt32, column: (Int) -> Int, seen: SeenItemsView?,
                        _ body: (MaskedColumns) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * count) { scratch in
            sorted(count: count, id: id, column: column, seen: seen, scratch: scratch, body)
        }
    }

    private static func sorted<R>(count: Int, id: (Int) -> UInt32, column: (Int) -> Int, seen: SeenItemsView?,
                                  scratch: UnsafeMutableBufferPointer<UInt64>, _ body: (MaskedColumns) -> R) -> R {
        let keys = UnsafeMutableBufferPointer(rebasing: scratch[0 ..< count])
        for c in 0 ..< count { keys[c] = UInt64(id(c)) << 32 | UInt64(column(c)) }
        radixSort(keys, scratch: UnsafeMutableBufferPointer(rebasing: scratch[count ..< 2 * count]))
        guard let seen else { return body(MaskedColumns(keys: UnsafeBufferPointer(keys), seen: nil)) }
        var previous: UInt64 = .max
        for h in 0 ..< count where keys[h] >> 32 != previous {
            previous = keys[h] >> 32
            precondition(Int(previous) < seen.slots.count, "candidate item \(previous) outside 0..<\(seen.slots.count)")
            seen.slots[Int(previous)] = Int32(h)
        }
        return body(MaskedColumns(keys: UnsafeBufferPointer(keys), seen: seen))
    }

    /// The positions in `keys` of the candidates whose item is `id`.
    @inline(__always)
    func range(of id: UInt32) -> Range<Int> {
        let lo: Int
        if let seen {
            guard Int(id) < seen.slots.count else { return 0 ..< 0 }
            // An entry that is not this minibatch's is stale: its key is another item's, or past the end.
            let slot = Int(seen.slots[Int(id)])
            guard slot >= 0 && slot < keys.count && keys[slot] >> 32 == UInt64(id) else { return 0 ..< 0 }
            lo = slot
        } else {
            let lowest = UInt64(id) << 32
            var l = 0, h = keys.count
            while l < h {
                let mid = (l + h) / 2
                if keys[mid] < lowest { l = mid + 1 } else { h = mid }
            }
            lo = l
        }
        var end = lo
        while end < keys.count && keys[end] >> 32 == UInt64(id) { end += 1 }
        return lo ..< end
    }

    /// Writes the columns that row `b` (positive item `positive`, target column `target`) must not score into
    /// `out` (capacity columns, each written at most once) and returns how many.
    @inline(__always)
    func columns(row b: Int, positive: UInt32, target: Int, into out: UnsafeMutablePointer<Int32>, capacity: Int) -> Int {
        var n = 0
        func add(_ id: UInt32) {
            for h in range(of: id) {
                let column = Int(keys[h] & 0xFFFF_FFFF)
                if column == target { continue }
                precondition(n < capacity, "masked columns: more than \(capacity) for row \(b)")
                out[n] = Int32(column)
                n += 1
            }
        }
        add(positive)
        if let seen {
            let u = Int(seen.users[b])
            var previous: UInt32?
            for i in seen.offsets[u] ..< seen.offsets[u + 1] {
                let id = seen.items[i]
                if id != positive && id != previous { add(id) }
                previous = id
            }
        }
        return n
    }
}
