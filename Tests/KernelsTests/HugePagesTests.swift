import Foundation
@testable import Kernels
import XCTest

final class HugePagesTests: XCTestCase {
    func testAlignedStorageHoldsTheValuesItIsGiven() {
        let filled = AlignedFloats(repeating: 1.5, count: 3_000_000)
        XCTAssertEqual(filled.count, 3_000_000)
        XCTAssertTrue(filled.array.allSatisfy { $0 == 1.5 })
        let source = (0 ..< 2_000_000).map { Float($0) * 0.25 }
        XCTAssertEqual(AlignedFloats(copying: source).array, source)
        let small: [Float] = [1, 2, 3]
        XCTAssertEqual(AlignedFloats(copying: small).array, small)
        XCTAssertEqual(AlignedFloats(repeating: 7, count: 0).array, [])
        let copy = AlignedFloats(copying: small).copy()
        copy.withUnsafeMutableBufferPointer { $0[0] = 9 }
        XCTAssertEqual(copy.array, [9, 2, 3])
        let table = EmbeddingTable(rows: 40_000, dim: 64)
        XCTAssertEqual(table.values.count, 40_000 * 64)
        XCTAssertTrue(table.values.allSatisfy { $0 == 0 })
        let twin = table.copy()
        twin.setRow(3, [Float](repeating: 2, count: 64))
        XCTAssertEqual(twin.row(3), [Float](repeating: 2, count: 64))
        XCTAssertEqual(table.row(3), [Float](repeating: 0, count: 64), "a copy does not share the storage")
    }

    /// Every row of 64 floats starts on a cache line (4 lines per row, not 5), small or large, and large storage
    /// starts on a 2 MiB page.
    func testStorageStartsOnACacheLineAndLargeStorageOnAHugePage() {
        for count in [1, 16, 1000, 64 * 1000, 3 << 20] {
            let storage = AlignedFloats(repeating: 0, count: count)
            let address = storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress!) }
            XCTAssertEqual(address % 64, 0, "\(count) floats")
            if count * 4 >= 4 << 20 { XCTAssertEqual(address % (2 << 20), 0, "\(count) floats") }
        }
        let table = EmbeddingTable(rows: 29_858, dim: 64)
        table.withUnsafeValues { XCTAssertEqual(UInt(bitPattern: $0.baseAddress!) % 64, 0) }
        let optimizer = SparseOptimizer(settings: OptimizerSettings(kind: .adam), rows: 1000, dim: 64)
        XCTAssertEqual(optimizer.state.map(\.count), [64_000, 64_000])
    }

    /// Where the kernel offers transparent huge pages on request (`madvise` or `always`), a large table's memory is
    /// backed by 2 MiB pages once written.
    func testALargeArrayIsBackedByHugePages() throws {
        #if os(Linux)
        let setting = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        guard setting.contains("[madvise]") || setting.contains("[always]") else {
            throw XCTSkip("transparent huge pages are off here (\(setting.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        let values = AlignedFloats(repeating: 1, count: 8 << 20)   // 32 MiB
        // The marked pages may split the mapping: look in the middle.
        let address = values.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress! + $0.count / 2) }
        let hugeKiB = try anonHugePagesKiB(containing: address)
        XCTAssertGreaterThanOrEqual(hugeKiB, 2048, "the mapping holding the storage has no huge page")
        XCTAssertEqual(values.withUnsafeBufferPointer { $0[$0.count - 1] }, 1)
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
