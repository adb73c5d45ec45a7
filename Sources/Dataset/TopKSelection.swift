/// The k best items of a score row: higher score first, and among equal scores the lower item id.
///
/// A min-heap of size k whose root is the worst item kept; a scan costs one comparison per item once the heap is
/// full. Scores of -inf (excluded items) and NaN are never selected. Reused across rows without reallocating.
struct TopKSelection {
    let k: Int
    private var scores: [Float]
    private var items: [UInt32]
    private(set) var count = 0

    init(k: Int) {
        precondition(k > 0, "TopKSelection needs k > 0, got \(k)")
        self.k = k
        scores = [Float](repeating: 0, count: k)
        items = [UInt32](repeating: 0, count: k)
    }

    /// Whether (sa, ia) ranks below (sb, ib).
    @inline(__always)
    private static func worse(_ sa: Float, _ ia: UInt32, _ sb: Float, _ ib: UInt32) -> Bool {
        sa < sb || (sa == sb && ia > ib)
    }

    /// Selects the best min(k, selectable) of `row` (n scores, item j at row[j]).
    mutating func select(_ row: UnsafePointer<Float>, count n: Int) {
        let k = self.k
        var filled = 0
        scores.withUnsafeMutableBufferPointer { s in
            items.withUnsafeMutableBufferPointer { it in
                var j = 0
                while j < n && filled < k {
                    let v = row[j]
                    if v != -Float.infinity && !v.isNaN {
                        // Sift up.
                        var c = filled
                        while c > 0 {
                            let p = (c - 1) / 2
                            if !Self.worse(v, UInt32(j), s[p], it[p]) { break }
                            s[c] = s[p]; it[c] = it[p]
                            c = p
                        }
                        s[c] = v; it[c] = UInt32(j)
                        filled += 1
                    }
                    j += 1
                }
                guard filled == k else { return }
                var threshold = s[0]
                while j < n {
                    let v = row[j]
                    // Items come in increasing id, so an equal score never displaces a kept item.
                    if v > threshold {
                        Self.replaceRoot(s, it, k, v, UInt32(j))
                        threshold = s[0]
                    }
                    j += 1
                }
            }
        }
        count = filled
    }

    @inline(__always)
    private static func replaceRoot(_ s: UnsafeMutableBufferPointer<Float>, _ it: UnsafeMutableBufferPointer<UInt32>,
                                    _ k: Int, _ v: Float, _ item: UInt32) {
        var p = 0
        while true {
            let l = 2 * p + 1
            if l >= k { break }
            var c = l
            let r = l + 1
            if r < k && worse(s[r], it[r], s[l], it[l]) { c = r }
            if !worse(s[c], it[c], v, item) { break }
            s[p] = s[c]; it[p] = it[c]
            p = c
        }
        s[p] = v; it[p] = item
    }

    /// The selected items, best first.
    func ranked() -> [UInt32] {
        let order = (0 ..< count).sorted { Self.worse(scores[$1], items[$1], scores[$0], items[$0]) }
        return order.map { items[$0] }
    }
}
