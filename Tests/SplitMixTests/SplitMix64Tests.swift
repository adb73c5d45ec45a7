import SplitMix
import XCTest

final class SplitMix64Tests: XCTestCase {
    /// The reference outputs of splitmix64.c (Vigna) for seed 0, and for another seed as an independent
    /// implementation computes them: every seeded stream of the project, the protocol's negatives included, rests
    /// on these.
    func testOutputsAreTheReferenceOnes() {
        var zero = SplitMix64(seed: 0)
        XCTAssertEqual((0 ..< 3).map { _ in zero.next() }, [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var other = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0 ..< 3).map { _ in other.next() }, [0x599E_D017_FB08_FC85, 0x2C73_F084_5854_0FA5, 0x883E_BCE5_A3F2_7C77])
    }

    func testStateAdvancesByTheGoldenRatioIncrement() {
        var g = SplitMix64(seed: 5)
        _ = g.next()
        _ = g.next()
        XCTAssertEqual(g.state, 5 &+ 2 &* 0x9E37_79B9_7F4A_7C15)
    }

    func testUnitIsTheTop53BitsInZeroToOne() {
        var a = SplitMix64(seed: 9), b = SplitMix64(seed: 9)
        for _ in 0 ..< 1000 {
            let u = a.unit()
            XCTAssertEqual(u, Double(b.next() >> 11) / 9_007_199_254_740_992)
            XCTAssertTrue(u >= 0 && u < 1)
        }
    }
}
