import CommandSupport
import XCTest

final class ProcessMemoryTests: XCTestCase {
    /// glibc accepts both settings: a wrong parameter number or an out-of-range value makes `mallopt` return 0.
    /// (Whether the blocks are then reused shows in the executables' step rates, `bench/quality-results.md`; inside
    /// the test process, whose heap earlier tests have shaped, a reused block can still come from a fresh mapping.)
    func testGlibcAcceptsTheSettings() throws {
        #if os(Linux)
        XCTAssertTrue(ProcessMemory.keepFreedBlocks())
        XCTAssertTrue(ProcessMemory.keepFreedBlocks(), "setting them again is harmless")
        #else
        throw XCTSkip("glibc only")
        #endif
    }
}
