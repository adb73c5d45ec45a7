/// The published figures of the datasets the project knows, to set beside a run on one of them. Recognised by
/// their shape (users and items), not their name or path. Source: `shared/datasets/README.md` of this project,
/// which cites each figure (the numbers only; the data itself is never copied here).
public struct PublishedFigures: Sendable, Equatable {
    public struct Result: Sendable, Equatable {
        public let model: String
        public let recall20: Double
        public let ndcg20: Double
        public let note: String
    }

    public let dataset: String
    public let users: Int
    public let items: Int
    /// Training and test interactions of the published split (nil when the data is split by the trainer).
    public let train: Int?
    public let test: Int?
    public let origin: String
    public let results: [Result]

    public static let source = "shared/datasets/README.md (the project's table of datasets and published results)"

    public static let known: [PublishedFigures] = [
        PublishedFigures(
            dataset: "Gowalla (LightGCN split)", users: 29_858, items: 40_981, train: 810_128, test: 217_242,
            origin: "He et al., SIGIR 2020, from the SNAP Gowalla check-ins",
            results: [
                Result(model: "MF + BPR (tuned)", recall20: 0.1627, ndcg20: 0.1378, note: "BARS open benchmark"),
                Result(model: "MF + softmax (InfoNCE) loss", recall20: 0.1759, ndcg20: 0.1395, note: "800 uniform negatives, cosine, τ 0.08"),
                Result(model: "LightGCN, 3 layers", recall20: 0.1830, ndcg20: 0.1554, note: "the paper"),
                Result(model: "MF + cosine contrastive loss", recall20: 0.1837, ndcg20: 0.1493, note: "800 negatives"),
                Result(model: "MF + Adap-τ softmax", recall20: 0.1839, ndcg20: 0.1507, note: "1024 negatives, batch 2048"),
                Result(model: "SimpleX", recall20: 0.1872, ndcg20: 0.1557, note: "2000 negatives"),
                Result(model: "MF + BSL", recall20: 0.1882, ndcg20: 0.1584, note: "800 negatives, τ 0.08, τ⁺ = 1.22 τ"),
                Result(model: "LightGCN (1 layer) + BSL", recall20: 0.1892, ndcg20: 0.1590, note: "graph model"),
                Result(model: "LightGCN + Adap-τ", recall20: 0.1901, ndcg20: 0.1590, note: "graph model"),
            ]),
        PublishedFigures(
            dataset: "MovieLens-1M (Adap-τ / BSL split)", users: 6_022, items: 3_043, train: 796_244, test: 99_455,
            origin: "MovieLens-1M as split by the authors of Adap-τ / BSL (Wu et al.)",
            results: [
                Result(model: "MF + softmax loss", recall20: 0.2809, ndcg20: 0.2662, note: "reported by the BSL authors"),
            ]),
        PublishedFigures(
            dataset: "MovieLens-100K (u.data)", users: 943, items: 1_682, train: nil, test: nil,
            origin: "GroupLens: 100,000 ratings; split here by time (--split)", results: []),
    ]

    /// The known dataset with this many users and items, if any.
    public static func matching(users: Int, items: Int) -> PublishedFigures? {
        known.first { $0.users == users && $0.items == items }
    }
}
