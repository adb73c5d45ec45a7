#if canImport(Glibc)
import Glibc
#endif

/// Large tables (embedding rows, Adam moments, the bank) are read and written at random rows. With 4 KiB pages
/// nearly every row touched is also a TLB miss; Linux backs memory with 2 MiB pages when a region is marked for it
/// (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise, Debian's default) before it is first written.
/// These helpers allocate such float arrays: the values are the same, only the pages differ.

/// The size of a transparent huge page on x86-64 Linux: only whole, aligned pages of this size inside an array are
/// marked, and arrays that cannot hold two of them are not copied to be marked.
let hugePageBytes = 2 << 20

/// An array of `count` floats, each `value`, on memory marked for transparent huge pages before it is written.
public func hugePageFloats(repeating value: Float, count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        adviseHugePages(buffer)
        buffer.initialize(repeating: value)
        initialized = count
    }
}

/// A copy of `values` on memory marked for transparent huge pages (`values` itself when it is too small to gain).
public func hugePageFloats(copying values: [Float]) -> [Float] {
    guard values.count * MemoryLayout<Float>.stride >= 2 * hugePageBytes else { return values }
    return [Float](unsafeUninitializedCapacity: values.count) { buffer, initialized in
        adviseHugePages(buffer)
        _ = values.withUnsafeBufferPointer { buffer.initialize(fromContentsOf: $0) }
        initialized = values.count
    }
}

/// Marks the whole 2 MiB pages inside `buffer` for transparent huge pages (a hint: ignored where unsupported).
func adviseHugePages(_ buffer: UnsafeMutableBufferPointer<Float>) {
    #if os(Linux)
    guard let base = buffer.baseAddress else { return }
    let start = UInt(bitPattern: base), end = start + UInt(buffer.count * MemoryLayout<Float>.stride)
    let page = UInt(hugePageBytes)
    let first = (start + page - 1) / page * page, last = end / page * page
    guard last > first else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_HUGEPAGE)
    #endif
}
