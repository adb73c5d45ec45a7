import Foundation

/// Draws item ids with replacement, uniformly or by popularity (Walker/Vose alias table: O(1) per draw).
///
/// The same `SeededRandom` stream gives the same ids, so a minibatch's negatives do not depend on the worker.
public struct NegativeSampler: Sendable {
    public let itemCount: Int
    /// Alias table (empty when uniform): column i keeps i with probability acceptance[i], else gives alias[i].
    private let acceptance: [Double]
    private let alias: [UInt32]
    /// log p_i per item (empty when uniform).
    private let logProbabilities: [Float]
    private let uniformLogProbability: Float

    private init(itemCount: Int, acceptance: [Double], alias: [UInt32], logProbabilities: [Float]) {
        self.itemCount = itemCount
        self.acceptance = acceptance
        self.alias = alias
        self.logProbabilities = logProbabilities
        self.uniformLogProbability = Float(-log(Double(itemCount)))
    }

    /// Every item with probability 1/items.
    public static func uniform(items: Int) -> NegativeSampler {
        precondition(items > 0 && items <= Int(UInt32.max), "uniform sampler needs 1...UInt32.max items, got \(items)")
        return NegativeSampler(itemCount: items, acceptance: [], alias: [], logProbabilities: [])
    }

    /// p_i ∝ counts[i]^alpha (alpha 0: uniform over all items; a zero count with alpha > 0 is never drawn).
    public static func popularity(counts: [Float], alpha: Float) -> NegativeSampler {
        let n = counts.count
        precondition(n > 0 && n <= Int(UInt32.max), "popularity sampler needs 1...UInt32.max items, got \(n)")
        precondition(alpha >= 0 && alpha.isFinite, "popularity exponent must be finite and >= 0, got \(alpha)")
        var weights = [Double](repeating: 0, count: n)
        for (i, c) in counts.enumerated() {
            precondition(c >= 0 && c.isFinite, "item \(i) has count \(c); counts must be finite and >= 0")
            weights[i] = alpha == 0 ? 1 : pow(Double(c), Double(alpha))
        }
        let total = weights.reduce(0, +)
        precondition(total > 0, "popularity sampler: every item has weight 0")
        let probabilities = weights.map { $0 / total }

        // Vose's alias method on scaled probabilities n·p_i.
        var acceptance = probabilities.map { $0 * Double(n) }
        var alias = [UInt32](repeating: 0, count: n)
        var small: [Int] = [], large: [Int] = []
        for i in 0 ..< n { if acceptance[i] < 1 { small.append(i) } else { large.append(i) } }
        while !small.isEmpty && !large.isEmpty {
            let s = small.removeLast(), l = large[large.count - 1]
            alias[s] = UInt32(l)
            acceptance[l] = (acceptance[l] + acceptance[s]) - 1
            if acceptance[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // Leftovers are 1 up to rounding.
        for i in large { acceptance[i] = 1; alias[i] = UInt32(i) }
        for i in small { acceptance[i] = 1; alias[i] = UInt32(i) }
        return NegativeSampler(itemCount: n, acceptance: acceptance, alias: alias,
                               logProbabilities: probabilities.map { Float(log($0)) })
    }

    /// `count` item ids drawn independently with replacement.
    public func sample(count: Int, random: inout SeededRandom) -> [UInt32] {
        precondition(count >= 0, "cannot sample \(count) negatives")
        var out = [UInt32](repeating: 0, count: count)
        sample(into: &out, random: &random)
        return out
    }

    /// Fills `destination` with independent draws (no allocation).
    public func sample(into destination: inout [UInt32], random: inout SeededRandom) {
        if acceptance.isEmpty {
            for k in destination.indices { destination[k] = UInt32(random.nextInt(below: itemCount)) }
            return
        }
        for k in destination.indices {
            let column = random.nextInt(below: itemCount)
            destination[k] = random.nextUnit() < acceptance[column] ? UInt32(column) : alias[column]
        }
    }

    /// log of the per-draw probability of `item` (−∞ for an item that is never drawn).
    public func logProbability(_ item: UInt32) -> Float {
        precondition(Int(item) < itemCount, "item \(item) outside 0..<\(itemCount)")
        return logProbabilities.isEmpty ? uniformLogProbability : logProbabilities[Int(item)]
    }

    /// logProbability of each id, for the logQ correction.
    public func logProbabilities(_ items: [UInt32]) -> [Float] { items.map { logProbability($0) } }
}
