import Kernels
import XCTest

final class RowNormalizationTests: XCTestCase {
    func testRowsBecomeUnitAndKeepDirection() {
        var x: [Float] = [3, 4, 0, 0, 0, 0, 1, -1, 1]
        normalizeRows(&x, dim: 3)
        XCTAssertEqual(Array(x[0 ..< 3]), [0.6, 0.8, 0])
        XCTAssertEqual(Array(x[3 ..< 6]), [0, 0, 0])   // zero row stays zero (norm floor)
        XCTAssertEqual(x[6] * x[6] + x[7] * x[7] + x[8] * x[8], 1, accuracy: 1e-6)
    }

    /// Backward against central differences of s(x) = <normalize(x), w>.
    func testBackwardMatchesFiniteDifferences() {
        let x: [Float] = [0.3, -1.2, 2.0, 0.5], w: [Float] = [1, 2, -0.5, 0.25]
        func s(_ x: [Float]) -> Double {
            var y = x
            normalizeRows(&y, dim: 4)
            return zip(y, w).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var y = x, norms: [Float] = [0], g = w
        y.withUnsafeMutableBufferPointer { yb in
            norms.withUnsafeMutableBufferPointer { nb in
                normalizeRows(yb.baseAddress!, norms: nb.baseAddress!, rows: 1, dim: 4)
                g.withUnsafeMutableBufferPointer {
                    normalizeRowsBackward($0.baseAddress!, normalized: yb.baseAddress!, norms: nb.baseAddress!, rows: 1, dim: 4)
                }
            }
        }
        for j in 0 ..< 4 {
            var plus = x, minus = x
            plus[j] += 1e-2
            minus[j] -= 1e-2
            XCTAssertEqual(Double(g[j]), (s(plus) - s(minus)) / 2e-2, accuracy: 1e-3)
        }
    }
}
