/// How the executables ask the C allocator to treat large blocks.
public enum ProcessMemory {
    /// Keeps freed large blocks in the heap for reuse instead of returning them to the kernel.
    ///
    /// A training step allocates and frees several buffers of megabytes (gradient rows, step deltas, encoded
    /// messages). By default glibc serves each from a fresh `mmap` and unmaps it on `free`, so every step pays a page
    /// fault per 4 KiB touched again. With these thresholds the blocks stay mapped and are reused; the heap holds at
    /// most the peak of what was in use at once. Returns false if glibc refused a setting.
    @discardableResult
    public static func keepFreedBlocks() -> Bool {
        #if os(Linux)
        // <malloc.h>, which the Glibc module does not export: M_TRIM_THRESHOLD is -1, M_MMAP_THRESHOLD is -3.
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
        return glibcMallopt(mmapThreshold, 1 << 30) == 1 && glibcMallopt(trimThreshold, Int32.max) == 1
        #else
        return false
        #endif
    }
}

#if os(Linux)
/// glibc's `int mallopt(int param, int value)`; 1 on success.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
