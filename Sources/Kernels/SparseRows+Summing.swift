extension SparseRows {
    /// Rows named by `ids` (count n) with values rows (n, dim), sorted by id with duplicates summed in their order
    /// of appearance. `keys` is the caller's reusable scratch (2n keys: the keys, then the sort's scratch).
    public static func summingDuplicates(
        ids: UnsafeBufferPointer<UInt32>, rows: UnsafePointer<Float>, dim: Int, keys: inout [UInt64]
    ) -> SparseRows {
        let n = ids.count
        if n == 0 { return SparseRows(dim: dim) }
        // key = id << 32 | position: a plain sort gives (id, order of appearance).
        keys.removeAll(keepingCapacity: true)
        for i in 0 ..< n { keys.append(UInt64(ids[i]) << 32 | UInt64(i)) }
        keys.append(contentsOf: repeatElement(0, count: n))
        keys.withUnsafeMutableBufferPointer { both in
            radixSort(UnsafeMutableBufferPointer(rebasing: both[0 ..< n]),
                      scratch: UnsafeMutableBufferPointer(rebasing: both[n ..< 2 * n]))
        }
        var unique = 1
        for i in 1 ..< n where keys[i] >> 32 != keys[i - 1] >> 32 { unique += 1 }
        // Every slot is written before it is read: no zero-filling of the outputs.
        var outIds = [UInt32](unsafeUninitializedCapacity: unique) { _, count in count = unique }
        let outValues = [Float](unsafeUninitializedCapacity: unique * dim) { out, count in
            var slot = -1
            var lastId: UInt64 = .max
            for key in keys[0 ..< n] {
                let id = key >> 32
                let src = rows + Int(key & 0xFFFF_FFFF) * dim
                if id != lastId {
                    slot += 1
                    lastId = id
                    outIds[slot] = UInt32(id)
                    (out.baseAddress! + slot * dim).initialize(from: src, count: dim)
                } else {
                    let dst = out.baseAddress! + slot * dim
                    for j in 0 ..< dim { dst[j] += src[j] }
                }
            }
            count = unique * dim
        }
        return SparseRows(dim: dim, ids: outIds, values: outValues)
    }
}
