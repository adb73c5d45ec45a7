import Dataset
import Foundation

extension InteractionData {
    /// The file name of the pairs a run's users are known to have: `coordinator recommend` and the evaluation leave
    /// these items out of a user's ranking.
    public static let seenPairsFile = "seen_pairs.npy"

    /// Every distinct (user, item) pair of the training data, including those a validation split held out of
    /// training (the evaluation excludes both from a user's test ranking), sorted by user then item. Dense ids.
    public func seenPairs() -> [(user: UInt32, item: UInt32)] {
        var keys: [UInt64] = []
        keys.reserveCapacity(trainCount + validationCount)
        for (u, i) in zip(trainUsers, trainItems) { keys.append(UInt64(u) << 32 | UInt64(i)) }
        for (u, items) in validationItems.enumerated() {
            for i in items { keys.append(UInt64(u) << 32 | UInt64(i)) }
        }
        keys.sort()
        var out: [(user: UInt32, item: UInt32)] = []
        out.reserveCapacity(keys.count)
        var previous: UInt64?
        for k in keys where k != previous {
            out.append((UInt32(k >> 32), UInt32(k & 0xFFFF_FFFF)))
            previous = k
        }
        return out
    }

    /// Writes `seen_pairs.npy` into `directory`: a uint32 matrix (pairs, 2) of (user, item) dense ids.
    public func writeSeenPairs(to directory: String) throws {
        let pairs = seenPairs()
        var values = [UInt32]()
        values.reserveCapacity(2 * pairs.count)
        for p in pairs {
            values.append(p.user)
            values.append(p.item)
        }
        try NpyFile.write(values, shape: [pairs.count, 2], to: directory + "/" + Self.seenPairsFile)
    }
}
