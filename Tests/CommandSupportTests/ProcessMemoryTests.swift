import CommandSupport
import Foundation
import XCTest

final class ProcessMemoryTests: XCTestCase {
    private func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    /// Writes every page of a fresh 32 MiB block, frees it, and returns the page faults that cost.
    private func faultsOfOneBlock() -> Int {
        let bytes = 32 << 20
        let before = minorFaults()
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        for offset in stride(from: 0, to: bytes, by: 4096) { block.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self) }
        block.deallocate()
        return minorFaults() - before
    }

    /// Once freed blocks are kept, a second block of the same size reuses the pages of the first: no fresh faults
    /// (8,192 pages would each fault once if the block came from a fresh mmap).
    func testFreedBlocksAreReusedWithoutPageFaults() throws {
        #if os(Linux)
        XCTAssertTrue(ProcessMemory.keepFreedBlocks())
        _ = faultsOfOneBlock()
        let again = faultsOfOneBlock()
        XCTAssertLessThan(again, 512, "a reused 32 MiB block faulted \(again) times")
        #else
        throw XCTSkip("glibc only")
        #endif
    }
}
