import Kernels

extension InteractionData {
    /// A copy where a seeded fraction of each user's distinct training items moves to `validationItems`.
    ///
    /// Only users with at least 3 distinct training items give any; a user gives `round(fraction · n)` of its `n`
    /// distinct items, at most `n − 1`, so at least one stays. Every training interaction with a chosen item moves,
    /// so a validation item is never also a training item. The remaining training pairs keep their file order;
    /// validation items are listed in the order of their first training interaction. Existing validation items
    /// are replaced.
    public func carveValidation(fraction: Double, seed: UInt64) -> InteractionData {
        precondition(fraction >= 0 && fraction < 1, "carveValidation fraction must be in [0, 1), got \(fraction)")
        let byUser = trainItemsByUser()
        // moved[item] == user marks the items chosen for `user` while it is processed; `movedPairs` keeps them all.
        var moved = [Int32](repeating: -1, count: itemCount)
        var movedPairs = Set<UInt64>()
        var seen = [Int32](repeating: -1, count: itemCount)
        var validation = [[UInt32]](repeating: [], count: userCount)
        var anyMoved = [Bool](repeating: false, count: userCount)
        for u in 0 ..< userCount {
            var distinct = [UInt32]()
            for item in byUser[u] where seen[Int(item)] != Int32(u) {
                seen[Int(item)] = Int32(u)
                distinct.append(item)
            }
            let n = distinct.count
            guard n >= 3 else { continue }
            let take = min(n - 1, Int((fraction * Double(n)).rounded()))
            guard take > 0 else { continue }
            // Partial Fisher–Yates over positions: the first `take` of a seeded shuffle.
            var random = SeededRandom(seed: seed, stream: 0x5641_4C49, UInt64(u))  // "VALI"
            var positions = Array(0 ..< n)
            for k in 0 ..< take {
                let j = k + random.nextInt(below: n - k)
                positions.swapAt(k, j)
            }
            for p in positions[0 ..< take] { moved[Int(distinct[p])] = Int32(u) }
            validation[u] = distinct.filter { moved[Int($0)] == Int32(u) }
            for item in validation[u] { movedPairs.insert(UInt64(u) << 32 | UInt64(item)) }
            anyMoved[u] = true
        }
        var users = [UInt32](), items = [UInt32]()
        users.reserveCapacity(trainCount)
        items.reserveCapacity(trainCount)
        for k in 0 ..< trainCount {
            let u = trainUsers[k], i = trainItems[k]
            if anyMoved[Int(u)] && movedPairs.contains(UInt64(u) << 32 | UInt64(i)) { continue }
            users.append(u)
            items.append(i)
        }
        var copy = self
        copy.trainUsers = users
        copy.trainItems = items
        copy.validationItems = validation
        return copy
    }
}
