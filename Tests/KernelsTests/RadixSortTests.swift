import Kernels
import XCTest

final class RadixSortTests: XCTestCase {
    /// Every size around the small-input cut-off and beyond, keys from narrow to full width, with and without
    /// duplicates: the same order as the standard sort, and the scratch past the keys untouched.
    func testSortsLikeTheStandardSort() {
        var random = SeededRandom(seed: 5)
        let shapes: [(String, (inout SeededRandom, Int) -> UInt64)] = [
            ("full width", { r, _ in r.next() }),
            ("id << 32 | position", { r, i in UInt64(r.nextInt(below: 40_981)) << 32 | UInt64(i) }),
            ("few distinct", { r, _ in UInt64(r.nextInt(below: 3)) << 40 }),
            ("all equal", { _, _ in 0xDEAD_BEEF }),
            ("one high byte", { r, _ in UInt64(r.nextInt(below: 256)) << 56 }),
            ("ascending", { _, i in UInt64(i) }),
            ("descending", { _, i in UInt64(10_000 - i) }),
        ]
        for (name, key) in shapes {
            for n in [0, 1, 2, 63, 64, 65, 100, 1000, 4099] {
                var keys = (0 ..< n).map { key(&random, $0) }
                let expected = keys.sorted()
                var scratch = [UInt64](repeating: 7, count: n + 3)
                scratch.withUnsafeMutableBufferPointer { s in
                    keys.withUnsafeMutableBufferPointer { k in
                        radixSort(k, scratch: UnsafeMutableBufferPointer(rebasing: s[0 ..< n]))
                    }
                }
                XCTAssertEqual(keys, expected, "\(name), \(n) keys")
                XCTAssertEqual(Array(scratch[n...]), [7, 7, 7], "\(name), \(n) keys: wrote past its scratch")

                var narrow = expected.shuffled(using: &random).map { UInt32(truncatingIfNeeded: $0 >> 20) }
                let narrowExpected = narrow.sorted()
                var narrowScratch: [UInt32] = []
                radixSort(&narrow, scratch: &narrowScratch)
                XCTAssertEqual(narrow, narrowExpected, "\(name), \(n) 32-bit keys")
            }
        }
    }

    /// The array form grows its scratch and keeps it for the next call.
    func testArrayFormReusesItsScratch() {
        var random = SeededRandom(seed: 9)
        var scratch: [UInt64] = []
        for n in [500, 200, 900] {
            var keys = (0 ..< n).map { _ in random.next() >> 3 }
            let expected = keys.sorted()
            radixSort(&keys, scratch: &scratch)
            XCTAssertEqual(keys, expected)
            XCTAssertGreaterThanOrEqual(scratch.count, n)
        }
        XCTAssertEqual(scratch.count, 900)
    }
}
