/// Full-ranking metrics at one cut-off, averaged over the evaluated users (those with at least one relevant item).
public struct RankingMetrics: Sendable, Equatable, CustomStringConvertible {
    public var k: Int
    /// Mean over users of hits in the top k / number of relevant items.
    public var recall: Double
    /// Mean over users of DCG@k / IDCG@k, binary relevance, discount 1 / log2(rank + 1), IDCG over min(relevant, k).
    public var ndcg: Double
    /// How many users the means are over.
    public var users: Int

    public init(k: Int, recall: Double, ndcg: Double, users: Int) {
        self.k = k
        self.recall = recall
        self.ndcg = ndcg
        self.users = users
    }

    public var description: String {
        func f(_ x: Double) -> String {
            let scaled = (x * 10000).rounded() / 10000
            return String(scaled)
        }
        return "Recall@\(k) \(f(recall)) NDCG@\(k) \(f(ndcg)) over \(users) users"
    }
}
