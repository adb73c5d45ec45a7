// Sorting the step's keys: the negatives' (id, column) keys of the bank kernel, the (id, position) keys that
// coalesce a gradient's rows, the ids of a bank update. A comparison sort of a thousand random keys mispredicts a
// branch at about every other comparison; counting the bytes of the keys and moving each key once per byte does
// not branch on the data.

/// Below this many keys the standard sort is used: the counting passes cost more than they save.
let radixSortMinimumCount = 64

/// Sorts `keys` ascending, least significant byte first (stable, so equal keys keep their order; the result is the
/// same as `sort()`). `scratch` needs at least `keys.count` elements; its contents are overwritten.
/// Bytes in which all keys agree cost no pass: ids below 2^16 in the high half of a 64-bit key and columns below
/// 2^16 in the low half take 4 passes, not 8.
public func radixSort(_ keys: UnsafeMutableBufferPointer<UInt64>, scratch: UnsafeMutableBufferPointer<UInt64>) {
    sortByBytes(keys, scratch: scratch)
}

/// Sorts an array with `radixSort`, growing the caller's reusable `scratch` when it is too short.
public func radixSort(_ keys: inout [UInt64], scratch: inout [UInt64]) {
    sortArray(&keys, scratch: &scratch)
}

/// Sorts an array with `radixSort`, growing the caller's reusable `scratch` when it is too short.
public func radixSort(_ keys: inout [UInt32], scratch: inout [UInt32]) {
    sortArray(&keys, scratch: &scratch)
}

@inline(__always)
private func sortArray<Key: FixedWidthInteger & UnsignedInteger>(_ keys: inout [Key], scratch: inout [Key]) {
    if scratch.count < keys.count { scratch = [Key](repeating: 0, count: keys.count) }
    keys.withUnsafeMutableBufferPointer { k in
        scratch.withUnsafeMutableBufferPointer { s in sortByBytes(k, scratch: s) }
    }
}

@inline(__always)
private func sortByBytes<Key: FixedWidthInteger & UnsignedInteger>(
    _ keys: UnsafeMutableBufferPointer<Key>, scratch: UnsafeMutableBufferPointer<Key>
) {
    let n = keys.count
    precondition(scratch.count >= n, "radix sort of \(n) keys given \(scratch.count) elements of scratch")
    if n < radixSortMinimumCount {
        var small = keys
        small.sort()
        return
    }
    let bytes = Key.bitWidth / 8
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 256 * bytes) { counts in
        counts.initialize(repeating: 0)
        // One read of the keys counts every byte position at once.
        for key in keys {
            var rest = key
            for b in 0 ..< bytes {
                counts[b << 8 | Int(truncatingIfNeeded: rest & 0xFF)] += 1
                rest >>= 8
            }
        }
        var source = keys, target = UnsafeMutableBufferPointer(rebasing: scratch[0 ..< n])
        for b in 0 ..< bytes {
            let first = Int(truncatingIfNeeded: (source[0] >> (8 * b)) & 0xFF)
            if counts[b << 8 | first] == n { continue }   // every key has the same byte here
            var offset = 0
            for digit in 0 ..< 256 {   // counts become the first slot of each byte value
                let count = counts[b << 8 | digit]
                counts[b << 8 | digit] = offset
                offset += count
            }
            for key in source {
                let slot = b << 8 | Int(truncatingIfNeeded: (key >> (8 * b)) & 0xFF)
                target[counts[slot]] = key
                counts[slot] += 1
            }
            swap(&source, &target)
        }
        if source.baseAddress != keys.baseAddress {
            _ = keys.update(fromContentsOf: source)
        }
    }
}
