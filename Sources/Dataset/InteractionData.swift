/// Implicit-feedback interactions with dense ids: training pairs and, per user, held-out test and validation items.
public struct InteractionData: Sendable, Equatable {
    public var name: String
    public var userCount: Int
    public var itemCount: Int
    /// The training interactions as parallel arrays (trainCount), in file order.
    public var trainUsers: [UInt32]
    public var trainItems: [UInt32]
    /// Per user (userCount lists, possibly empty): held-out test items.
    public var testItems: [[UInt32]]
    /// Per user (userCount lists, possibly all empty): held-out validation items (see `carveValidation`).
    public var validationItems: [[UInt32]]
    /// The original id of each dense user / item id when the reader remapped ids; nil when ids were already dense.
    public var userNames: [String]?
    public var itemNames: [String]?

    /// `validationItems` nil means none: one empty list per user.
    public init(
        name: String, userCount: Int, itemCount: Int,
        trainUsers: [UInt32], trainItems: [UInt32],
        testItems: [[UInt32]], validationItems: [[UInt32]]? = nil,
        userNames: [String]? = nil, itemNames: [String]? = nil
    ) {
        precondition(userCount >= 0 && itemCount >= 0, "InteractionData: negative counts \(userCount), \(itemCount)")
        precondition(trainUsers.count == trainItems.count,
                     "InteractionData: \(trainUsers.count) train users for \(trainItems.count) train items")
        precondition(testItems.count == userCount, "InteractionData: \(testItems.count) test lists for \(userCount) users")
        precondition(validationItems == nil || validationItems!.count == userCount,
                     "InteractionData: \(validationItems!.count) validation lists for \(userCount) users")
        precondition(userNames == nil || userNames!.count == userCount, "InteractionData: user names do not match userCount")
        precondition(itemNames == nil || itemNames!.count == itemCount, "InteractionData: item names do not match itemCount")
        precondition(trainUsers.allSatisfy { Int($0) < userCount }, "InteractionData: a train user is outside 0..<\(userCount)")
        precondition(trainItems.allSatisfy { Int($0) < itemCount }, "InteractionData: a train item is outside 0..<\(itemCount)")
        precondition(testItems.allSatisfy { $0.allSatisfy { Int($0) < itemCount } },
                     "InteractionData: a test item is outside 0..<\(itemCount)")
        self.name = name
        self.userCount = userCount
        self.itemCount = itemCount
        self.trainUsers = trainUsers
        self.trainItems = trainItems
        self.testItems = testItems
        self.validationItems = validationItems ?? [[UInt32]](repeating: [], count: userCount)
        self.userNames = userNames
        self.itemNames = itemNames
    }

    public var trainCount: Int { trainUsers.count }

    public var testCount: Int { testItems.reduce(0) { $0 + $1.count } }

    public var validationCount: Int { validationItems.reduce(0) { $0 + $1.count } }

    /// Training interactions per item (itemCount), as floats for samplers.
    public func itemPopularity() -> [Float] {
        var counts = [Float](repeating: 0, count: itemCount)
        for i in trainItems { counts[Int(i)] += 1 }
        return counts
    }

    /// Each user's training items, in file order.
    public func trainItemsByUser() -> ItemsByUser {
        ItemsByUser(userCount: userCount, users: trainUsers, items: trainItems)
    }
}
