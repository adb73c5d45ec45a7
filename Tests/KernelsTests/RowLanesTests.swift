@testable import Kernels
import Foundation
import XCTest

/// `RowLanes` hands out ranges that cover the rows once each: on this thread below the minimum, over the cores at
/// or above it.
final class RowLanesTests: XCTestCase {
    /// Counts, for every row, the ranges that held it, and the ranges themselves, behind a lock.
    private final class Coverage: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var hits: [Int]
        private(set) var ranges: [Range<Int>] = []
        private(set) var threads = Set<String>()
        init(_ count: Int) { hits = [Int](repeating: 0, count: count) }
        func add(_ range: Range<Int>) {
            lock.lock()
            defer { lock.unlock() }
            ranges.append(range)
            threads.insert(Thread.isMainThread ? "main" : "\(Unmanaged.passUnretained(Thread.current).toOpaque())")
            for r in range { hits[r] += 1 }
        }
    }

    func testRangesCoverEveryRowOnce() {
        for (count, minimum) in [(0, 4), (1, 4), (3, 4), (4, 4), (5, 4), (1023, 1024), (1024, 1024), (10_001, 1024)] {
            let coverage = Coverage(count)
            RowLanes.forEach(count: count, minimum: minimum) { coverage.add($0) }
            XCTAssertEqual(coverage.hits, [Int](repeating: 1, count: count), "count \(count): every row once")
            XCTAssertFalse(coverage.ranges.contains { $0.isEmpty }, "count \(count): no empty range")
            let expected = count == 0 ? 0 : count < minimum ? 1 : min(RowLanes.lanes, count)
            XCTAssertEqual(coverage.ranges.count, expected, "count \(count), minimum \(minimum): ranges")
        }
    }

    /// With more than one core, enough rows run in more than one range at once (the coordinator's serial phases
    /// depend on it); each range is contiguous and they do not overlap.
    func testEnoughRowsAreSpread() {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }
        XCTAssertGreaterThan(RowLanes.lanes, 1)
        let coverage = Coverage(4096)
        RowLanes.forEach(count: 4096, minimum: 1024) { coverage.add($0) }
        XCTAssertEqual(coverage.ranges.count, RowLanes.lanes)
        let sorted = coverage.ranges.sorted { $0.lowerBound < $1.lowerBound }
        XCTAssertEqual(sorted.first?.lowerBound, 0)
        XCTAssertEqual(sorted.last?.upperBound, 4096)
        for (a, b) in zip(sorted, sorted.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
    }
}
