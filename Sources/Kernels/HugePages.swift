#if canImport(Glibc)
import Glibc
#endif

/// Large tables (embedding rows, Adam moments, the bank) are read and written at random rows. With 4 KiB pages
/// nearly every row touched is also a TLB miss; Linux backs memory with 2 MiB pages when a region is marked for it
/// (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise, Debian's default) before it is first written.
/// `AlignedFloats` allocates such storage: the values are the same, only the pages (and the alignment) differ.

/// The size of a transparent huge page on x86-64 Linux. Storage that can hold two of them starts on one; only whole,
/// aligned pages of this size inside a buffer are marked.
let hugePageBytes = 2 << 20

/// Float storage for the large tables that are read and written at random rows (embeddings, the bank, Adam's
/// moments). It starts on a 64-byte cache line, so that a row of 16·k floats spans exactly k lines (an array's
/// elements start 48 bytes into a line, and a row of 64 floats then touches 5 lines instead of 4), and when it can
/// hold two 2 MiB pages it starts on one and is marked for transparent huge pages before it is first written.
/// A reference type: one owner mutates it, copies are explicit (`copy()`).
public final class AlignedFloats: @unchecked Sendable {
    public let count: Int
    private let base: UnsafeMutablePointer<Float>

    /// `count` floats, each `value`.
    public convenience init(repeating value: Float, count: Int) {
        self.init(count: count) { $0.initialize(repeating: value, count: count) }
    }

    /// A copy of `values`.
    public convenience init(copying values: UnsafeBufferPointer<Float>) {
        self.init(count: values.count) { target in
            if let source = values.baseAddress { target.initialize(from: source, count: values.count) }
        }
    }

    /// A copy of `values`.
    public convenience init(copying values: [Float]) {
        self.init(count: values.count) { target in
            values.withUnsafeBufferPointer { if let source = $0.baseAddress { target.initialize(from: source, count: $0.count) } }
        }
    }

    /// Allocates, marks the pages, then lets `initialize` write every value once.
    private init(count: Int, initialize: (UnsafeMutablePointer<Float>) -> Void) {
        precondition(count >= 0, "AlignedFloats needs count >= 0, got \(count)")
        self.count = count
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride
        let alignment = bytes >= 2 * hugePageBytes ? hugePageBytes : cacheLineBytes
        base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
            .bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        adviseHugePages(UnsafeMutableBufferPointer(start: base, count: count))
        initialize(base)
    }

    deinit { base.deallocate() }

    /// An independent copy.
    public func copy() -> AlignedFloats {
        AlignedFloats(copying: UnsafeBufferPointer(start: base, count: count))
    }

    /// The values as an array (a copy).
    public var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }
}

/// The size of a cache line on x86-64 (and the usual size elsewhere).
let cacheLineBytes = 64

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
