import Foundation
import Kernels

/// A synthetic implicit-feedback dataset that a model can learn: users and items sit in latent clusters, a user
/// draws most of its items from its own cluster, and item popularity follows a power law (Zipf).
///
/// The defaults make a small dataset for the default run and for tests.
public struct SyntheticSpec: Sendable, Equatable {
    public var users: Int
    public var items: Int
    public var clusters: Int
    /// Distinct training items per user.
    public var interactionsPerUser: Int
    /// Item weight `1 / rank^popularityExponent` over a seeded ranking of the items; 0 makes popularity uniform.
    public var popularityExponent: Double
    /// The chance that one of a user's items is drawn from its own cluster rather than from all items.
    public var clusterAffinity: Double
    /// Held-out test items per user, drawn like the training items and distinct from them.
    public var testPerUser: Int
    public var seed: UInt64

    public init(
        users: Int = 2000, items: Int = 1000, clusters: Int = 20, interactionsPerUser: Int = 20,
        popularityExponent: Double = 1.0, clusterAffinity: Double = 0.8, testPerUser: Int = 2, seed: UInt64 = 1
    ) {
        self.users = users
        self.items = items
        self.clusters = clusters
        self.interactionsPerUser = interactionsPerUser
        self.popularityExponent = popularityExponent
        self.clusterAffinity = clusterAffinity
        self.testPerUser = testPerUser
        self.seed = seed
    }
}

extension DatasetLoader {
    /// Generates `spec`'s dataset; the same spec always gives the same data.
    ///
    /// Items are dealt round-robin to clusters in a seeded order and ranked by popularity in another seeded order.
    /// Each user gets a seeded cluster and draws `interactionsPerUser + testPerUser` distinct items, each with
    /// probability `clusterAffinity` by popularity within its cluster and otherwise by popularity among all items;
    /// the last `testPerUser` drawn are its test items. Training pairs are listed user by user in drawing order.
    public static func synthetic(_ spec: SyntheticSpec) -> InteractionData {
        precondition(spec.users > 0 && spec.items > 0, "SyntheticSpec needs users and items, got \(spec.users), \(spec.items)")
        precondition(spec.clusters >= 1 && spec.clusters <= spec.items, "SyntheticSpec clusters must be in 1...items, got \(spec.clusters)")
        precondition(spec.interactionsPerUser >= 1 && spec.testPerUser >= 0, "SyntheticSpec needs interactionsPerUser ≥ 1, testPerUser ≥ 0")
        precondition(spec.interactionsPerUser + spec.testPerUser <= spec.items,
                     "SyntheticSpec: \(spec.interactionsPerUser + spec.testPerUser) items per user out of \(spec.items)")
        precondition(spec.clusterAffinity >= 0 && spec.clusterAffinity <= 1, "SyntheticSpec clusterAffinity must be in [0, 1]")
        precondition(spec.popularityExponent >= 0, "SyntheticSpec popularityExponent must be ≥ 0")

        var random = SeededRandom(seed: spec.seed, stream: 0x5359_4E54)  // "SYNT"
        let clusterOrder = shuffled(spec.items, &random)
        let popularityOrder = shuffled(spec.items, &random)
        var weight = [Double](repeating: 0, count: spec.items)
        for (rank, item) in popularityOrder.enumerated() {
            weight[item] = 1 / pow(Double(rank + 1), spec.popularityExponent)
        }
        var clusterItems = [[UInt32]](repeating: [], count: spec.clusters)
        for (k, item) in clusterOrder.enumerated() { clusterItems[k % spec.clusters].append(UInt32(item)) }
        let clusterSamplers = clusterItems.map { WeightedSampler(items: $0, weights: $0.map { weight[Int($0)] }) }
        let globalSampler = WeightedSampler(items: (0 ..< UInt32(spec.items)).map { $0 }, weights: weight)

        let perUser = spec.interactionsPerUser + spec.testPerUser
        var chosenBy = [Int32](repeating: -1, count: spec.items)
        var trainUsers = [UInt32](), trainItems = [UInt32]()
        trainUsers.reserveCapacity(spec.users * spec.interactionsPerUser)
        trainItems.reserveCapacity(spec.users * spec.interactionsPerUser)
        var testItems = [[UInt32]](repeating: [], count: spec.users)
        for u in 0 ..< spec.users {
            let cluster = random.nextInt(below: spec.clusters)
            var drawn = [UInt32]()
            var attempts = 0
            while drawn.count < perUser {
                attempts += 1
                var item: UInt32
                if attempts > 100 * perUser {
                    // Rejection is taking too long (a tiny cluster or a steep power law): take any unchosen item.
                    item = UInt32(random.nextInt(below: spec.items))
                    while chosenBy[Int(item)] == Int32(u) { item = (item + 1) % UInt32(spec.items) }
                } else {
                    let sampler = random.nextUnit() < spec.clusterAffinity ? clusterSamplers[cluster] : globalSampler
                    item = sampler.draw(&random)
                    if chosenBy[Int(item)] == Int32(u) { continue }
                }
                chosenBy[Int(item)] = Int32(u)
                drawn.append(item)
            }
            for item in drawn[0 ..< spec.interactionsPerUser] {
                trainUsers.append(UInt32(u))
                trainItems.append(item)
            }
            testItems[u] = Array(drawn[spec.interactionsPerUser...])
        }
        return InteractionData(
            name: "synthetic", userCount: spec.users, itemCount: spec.items,
            trainUsers: trainUsers, trainItems: trainItems, testItems: testItems)
    }

    private static func shuffled(_ n: Int, _ random: inout SeededRandom) -> [Int] {
        var order = Array(0 ..< n)
        for k in stride(from: n - 1, to: 0, by: -1) { order.swapAt(k, random.nextInt(below: k + 1)) }
        return order
    }
}

/// Draws items with probability proportional to their weights (binary search over cumulative weights).
struct WeightedSampler {
    let items: [UInt32]
    let cumulative: [Double]

    init(items: [UInt32], weights: [Double]) {
        precondition(!items.isEmpty && items.count == weights.count, "WeightedSampler needs one weight per item")
        var total = 0.0
        cumulative = weights.map { total += $0; return total }
        self.items = items
    }

    func draw(_ random: inout SeededRandom) -> UInt32 {
        let target = random.nextUnit() * cumulative[cumulative.count - 1]
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return items[lo]
    }
}
