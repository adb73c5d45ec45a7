import Coordinator
import Foundation
import Kernels
import XCTest

final class EpochAuditTests: XCTestCase {
    /// Adding every interaction 0..<n once, in any order and in any grouping, gives `expected(for: n)`.
    func testExpectedEqualsAnyOrderOfAllInteractions() {
        let n = 1000
        var random = SeededRandom(seed: 8)
        for _ in 0 ..< 5 {
            var ids = (0 ..< UInt32(n)).map { $0 }
            ids.shuffle(using: &random)
            var audit = EpochAudit()
            var start = 0
            while start < n {
                let end = min(n, start + 1 + random.nextInt(below: 100))
                audit.add(ids[start ..< end])
                start = end
            }
            XCTAssertEqual(audit, EpochAudit.expected(for: n))
        }
        XCTAssertEqual(EpochAudit.expected(for: n).count, n)
        XCTAssertEqual(EpochAudit.expected(for: 0), EpochAudit())
    }

    /// Audits are kept in checkpoints: the mix of an id (SplitMix64's first output seeded with it) must never
    /// change, or a resumed run would compare against another hash. Values from an independent implementation.
    func testTheAuditOfThreeInteractionsIsPinned() {
        let audit = EpochAudit.expected(for: 3)
        XCTAssertEqual(audit.count, 3)
        XCTAssertEqual(audit.sum, 0x0A83_0C04_20B7_813E)
        XCTAssertEqual(audit.xor, 0xE472_B00B_EE88_C7A0)
    }

    func testMissingDoubledOrSwappedInteractionsDiffer() {
        let n: UInt32 = 500
        let expected = EpochAudit.expected(for: Int(n))
        func audit(_ ids: [UInt32]) -> EpochAudit {
            var a = EpochAudit()
            a.add(ids)
            return a
        }
        let all = Array(0 ..< n)
        XCTAssertEqual(audit(all.reversed()), expected)
        for k: UInt32 in [0, 1, 250, n - 1] {
            var missing = all
            missing.remove(at: Int(k))
            XCTAssertNotEqual(audit(missing), expected, "interaction \(k) missing")
            XCTAssertNotEqual(audit(all + [k]), expected, "interaction \(k) applied twice")
            var swapped = all
            swapped[Int(k)] = (k + 1) % n   // k missing and k+1 twice: the count is right
            XCTAssertEqual(audit(swapped).count, expected.count)
            XCTAssertNotEqual(audit(swapped), expected, "interaction \(k) replaced by \(k + 1)")
            var outside = all
            outside[Int(k)] = n + k         // an id from outside the epoch
            XCTAssertNotEqual(audit(outside), expected, "interaction \(k) replaced by \(n + k)")
        }
        // Two doubled ids that cancel in the xor are still caught by the sum.
        XCTAssertNotEqual(audit(all + [3, 3]), expected)
    }

    func testCodableRoundTrip() throws {
        var a = EpochAudit()
        a.add([5, 9, 1])
        XCTAssertEqual(try JSONDecoder().decode(EpochAudit.self, from: JSONEncoder().encode(a)), a)
    }
}
