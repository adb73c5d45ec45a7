/// A dense row-major table of float32 embeddings: `rows × dim`.
///
/// A reference type so that the large buffer is never copied by accident; one owner mutates it.
public final class EmbeddingTable {
    public let rows: Int
    public let dim: Int
    /// values (rows, dim), row-major, on cache-line-aligned memory marked for 2 MiB pages (its rows are read at
    /// random: each row of 16·k floats is k whole lines, and fewer TLB misses; see `AlignedFloats`).
    private let storage: AlignedFloats

    /// A table holding a copy of `values`.
    public convenience init(rows: Int, dim: Int, values: [Float]) {
        precondition(values.count == rows * dim, "EmbeddingTable(\(rows)×\(dim)) given \(values.count) values")
        self.init(rows: rows, dim: dim, storage: AlignedFloats(copying: values))
    }

    public convenience init(rows: Int, dim: Int) {
        precondition(rows >= 0 && dim > 0, "EmbeddingTable needs rows >= 0 and dim > 0, got \(rows)×\(dim)")
        self.init(rows: rows, dim: dim, storage: AlignedFloats(repeating: 0, count: rows * dim))
    }

    /// A table with entries drawn from N(0, std²), reproducible from `random`.
    public convenience init(rows: Int, dim: Int, normalStd std: Float, random: inout SeededRandom) {
        self.init(rows: rows, dim: dim)
        storage.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = Float(random.nextGaussian()) * std }
        }
    }

    private init(rows: Int, dim: Int, storage: AlignedFloats) {
        precondition(rows >= 0 && dim > 0, "EmbeddingTable needs rows >= 0 and dim > 0, got \(rows)×\(dim)")
        precondition(storage.count == rows * dim, "EmbeddingTable(\(rows)×\(dim)) given \(storage.count) values")
        self.rows = rows
        self.dim = dim
        self.storage = storage
    }

    /// The values (rows, dim), row-major: a copy.
    public var values: [Float] { storage.array }

    public func copy() -> EmbeddingTable { EmbeddingTable(rows: rows, dim: dim, storage: storage.copy()) }

    /// Row r (a copy).
    public func row(_ r: Int) -> [Float] {
        precondition(r >= 0 && r < rows, "row \(r) outside 0..<\(rows)")
        return storage.withUnsafeBufferPointer { Array(UnsafeBufferPointer(rebasing: $0[r * dim ..< (r + 1) * dim])) }
    }

    public func setRow(_ r: Int, _ newValues: some Collection<Float>) {
        precondition(r >= 0 && r < rows, "row \(r) outside 0..<\(rows)")
        precondition(newValues.count == dim, "row of \(newValues.count) values for dim \(dim)")
        storage.withUnsafeMutableBufferPointer { values in
            var i = r * dim
            for v in newValues { values[i] = v; i += 1 }
        }
    }

    /// Copies `rowIds.count` rows into `destination` (rowIds.count, dim).
    public func gather(_ rowIds: [UInt32], into destination: inout [Float]) {
        let d = dim
        if destination.count < rowIds.count * d {
            destination = [Float](repeating: 0, count: rowIds.count * d)
        }
        storage.withUnsafeBufferPointer { src in
            destination.withUnsafeMutableBufferPointer { dst in
                for (k, r) in rowIds.enumerated() {
                    let row = Int(r)
                    precondition(row < rows, "row id \(row) outside 0..<\(rows)")
                    let from = src.baseAddress! + row * d
                    (dst.baseAddress! + k * d).update(from: from, count: d)
                }
            }
        }
    }

    /// Overwrites the rows named in `rows` with their values.
    public func scatter(_ sparse: SparseRows) {
        precondition(sparse.dim == dim, "SparseRows of dim \(sparse.dim) into a table of dim \(dim)")
        let d = dim
        let n = rows
        sparse.values.withUnsafeBufferPointer { src in
            storage.withUnsafeMutableBufferPointer { dst in
                for (k, r) in sparse.ids.enumerated() {
                    precondition(Int(r) < n, "row id \(r) outside 0..<\(n)")
                    (dst.baseAddress! + Int(r) * d).update(from: src.baseAddress! + k * d, count: d)
                }
            }
        }
    }

    /// The current values of the named rows.
    public func rows(_ ids: [UInt32]) -> SparseRows {
        let d = dim, n = rows
        let out = [Float](unsafeUninitializedCapacity: ids.count * d) { out, initialized in
            guard ids.count * d > 0 else { return }
            storage.withUnsafeBufferPointer { src in
                for (k, r) in ids.enumerated() {
                    precondition(Int(r) < n, "row id \(r) outside 0..<\(n)")
                    (out.baseAddress! + k * d).initialize(from: src.baseAddress! + Int(r) * d, count: d)
                }
            }
            initialized = ids.count * d
        }
        return SparseRows(dim: d, ids: ids, values: out)
    }

    /// Gives the closure mutable access to the whole buffer (rows, dim).
    public func withUnsafeMutableValues<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0) }
    }

    public func withUnsafeValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0) }
    }

    /// Order-dependent 64-bit FNV-1a hash of the raw bytes, for replica comparison.
    public func contentHash(seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        storage.withUnsafeBufferPointer { StateHash.fnv1a(UnsafeRawBufferPointer($0), seed: seed) }
    }
}

public enum StateHash {
    /// FNV-1a over bytes, processed 8 bytes at a time for speed (a different but fixed function from byte FNV).
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = seed
        let prime: UInt64 = 0x0000_0100_0000_01b3
        let words = bytes.count / 8
        for i in 0 ..< words {
            h = (h ^ bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* prime
        }
        for i in (words * 8) ..< bytes.count {
            h = (h ^ UInt64(bytes[i])) &* prime
        }
        return h
    }
}
