/// Readers of interaction files and the synthetic generator. Every reader stops at the first malformed line with
/// a `DatasetError` naming the file and line; nothing is skipped silently (blank lines carry no data and are allowed).
public enum DatasetLoader {
    /// How a reader without a given split holds out test items: per user, by timestamp (ties by file order).
    public enum TemporalSplit: Sendable, Equatable {
        /// Each user's latest interaction is the test item (users with a single interaction keep it for training).
        case leaveLastOut
        /// Each user keeps its earliest `round(fraction · n)` interactions for training (at least 1, at most n)
        /// and the rest are its test items; `fraction` is in (0, 1].
        case ratio(Double)
    }

    /// The LightGCN split: `directory/train.txt` and `directory/test.txt`, each line `user item item ...` with dense
    /// ids from 0, separated by spaces or tabs. `userCount` / `itemCount` are the largest id in either file plus one,
    /// unless declared, in which case a larger id is an error. A line with a user but no items is an error.
    public static func lightGCN(directory: String, userCount: Int? = nil, itemCount: Int? = nil) throws -> InteractionData {
        let train = try TextFile.contents(of: directory + "/train.txt")
        let test = try TextFile.contents(of: directory + "/test.txt")
        let userLimit = userCount.map { UInt32(clamping: $0) } ?? UInt32.max
        let itemLimit = itemCount.map { UInt32(clamping: $0) } ?? UInt32.max

        var trainUsers = [UInt32](), trainItems = [UInt32]()
        trainUsers.reserveCapacity(train.bytes.count / 5)
        trainItems.reserveCapacity(train.bytes.count / 5)
        var maxUser: Int64 = -1, maxItem: Int64 = -1
        try readLightGCN(train, userLimit: userLimit, itemLimit: itemLimit, maxUser: &maxUser, maxItem: &maxItem) {
            trainUsers.append($0)
            trainItems.append($1)
        }
        var testUsers = [UInt32](), testFlat = [UInt32]()
        try readLightGCN(test, userLimit: userLimit, itemLimit: itemLimit, maxUser: &maxUser, maxItem: &maxItem) {
            testUsers.append($0)
            testFlat.append($1)
        }
        let users = userCount ?? Int(maxUser + 1)
        let items = itemCount ?? Int(maxItem + 1)
        var testItems = [[UInt32]](repeating: [], count: users)
        for k in testUsers.indices { testItems[Int(testUsers[k])].append(testFlat[k]) }
        return InteractionData(
            name: lastPathComponent(directory), userCount: users, itemCount: items,
            trainUsers: trainUsers, trainItems: trainItems, testItems: testItems)
    }

    private static func readLightGCN(
        _ file: TextFile, userLimit: UInt32, itemLimit: UInt32,
        maxUser: inout Int64, maxItem: inout Int64, _ add: (UInt32, UInt32) -> Void
    ) throws {
        var sawData = false
        var localMaxUser = maxUser, localMaxItem = maxItem
        try file.forEachLine { number, line in
            var user: UInt32? = nil
            var itemsOnLine = 0
            try Bytes.forEachToken(line) { token in
                if let u = user {
                    let item = try Bytes.id(token, what: "item id", file: file, line: number)
                    if item >= itemLimit {
                        throw file.malformed(line: number, "item id \(item) is not below the declared item count \(itemLimit)")
                    }
                    if Int64(item) > localMaxItem { localMaxItem = Int64(item) }
                    add(u, item)
                    itemsOnLine += 1
                } else {
                    let u = try Bytes.id(token, what: "user id", file: file, line: number)
                    if u >= userLimit {
                        throw file.malformed(line: number, "user id \(u) is not below the declared user count \(userLimit)")
                    }
                    if Int64(u) > localMaxUser { localMaxUser = Int64(u) }
                    user = u
                }
            }
            guard let u = user else { return }  // blank line
            if itemsOnLine == 0 { throw file.malformed(line: number, "user \(u) has no items") }
            sawData = true
        }
        if !sawData { throw DatasetError.invalid(file.path, file.bytes.isEmpty ? "the file is empty" : "the file has no interactions") }
        maxUser = localMaxUser
        maxItem = localMaxItem
    }

    static func lastPathComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed.split(separator: "/").last ?? trimmed)
    }
}
