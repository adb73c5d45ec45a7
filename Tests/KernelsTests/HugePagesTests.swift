import Foundation
@testable import Kernels
import XCTest

final class HugePagesTests: XCTestCase {
    func testHugePageArraysHoldTheValuesTheyAreGiven() {
        let filled = hugePageFloats(repeating: 1.5, count: 3_000_000)
        XCTAssertEqual(filled.count, 3_000_000)
        XCTAssertTrue(filled.allSatisfy { $0 == 1.5 })
        let source = (0 ..< 2_000_000).map { Float($0) * 0.25 }
        XCTAssertEqual(hugePageFloats(copying: source), source)
        let small: [Float] = [1, 2, 3]
        XCTAssertEqual(hugePageFloats(copying: small), small)
        XCTAssertEqual(hugePageFloats(repeating: 7, count: 0), [])
        let table = EmbeddingTable(rows: 40_000, dim: 64)
        XCTAssertEqual(table.values.count, 40_000 * 64)
        XCTAssertTrue(table.values.allSatisfy { $0 == 0 })
    }

    /// Where the kernel offers transparent huge pages on request (`madvise` or `always`), a large table's memory is
    /// backed by 2 MiB pages once written.
    func testALargeArrayIsBackedByHugePages() throws {
        #if os(Linux)
        let setting = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard setting.contains("[madvise]") || setting.contains("[always]") else {
            throw XCTSkip("transparent huge pages are off here (\(setting.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        let values = hugePageFloats(repeating: 1, count: 8 << 20)   // 32 MiB
        // Only the whole 2 MiB pages inside the array are marked, which splits its mapping: look in the middle.
        let address = values.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress! + $0.count / 2) }
        let hugeKiB = try anonHugePagesKiB(containing: address)
        XCTAssertGreaterThanOrEqual(hugeKiB, 2048, "the mapping holding the array has no huge page")
        XCTAssertEqual(values[values.count - 1], 1)
        #else
        throw XCTSkip("transparent huge pages are a Linux feature")
        #endif
    }

    /// AnonHugePages (KiB) of the mapping in /proc/self/smaps that contains `address`.
    private func anonHugePagesKiB(containing address: UInt) throws -> Int {
        // /proc files report size 0: read them to their end rather than by their size.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        let smaps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        handle.closeFile()
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count >= 2, let kib = Int(fields[1]) {
                return kib
            }
        }
        XCTFail("no mapping in /proc/self/smaps holds address \(String(address, radix: 16))")
        return 0
    }
}
