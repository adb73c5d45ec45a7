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

    /// `dotProduct` sums in its documented order (so replicas and both normalisation paths agree bit for bit), and
    /// `rowDotProducts` gives each row exactly what `dotProduct` gives. Values of mixed magnitudes make another
    /// order change the bits.
    func testDotProductsHaveOneFixedOrder() {
        var random = SeededRandom(seed: 11)
        for count in [0, 1, 7, 8, 9, 16, 64, 67, 130] {
            let rows = (0 ..< 8).map { _ in
                (0 ..< count).map { _ in Float(random.nextGaussian()) * Float(pow(10, Double(random.next() % 7) - 3)) }
            }
            // The documented order, written out.
            func expected(_ a: [Float], _ b: [Float]) -> Float {
                let whole = count / 8 * 8
                var lanes = [Float](repeating: 0, count: 8)
                for j in 0 ..< whole { lanes[j % 8] += a[j] * b[j] }
                let four = (0 ..< 4).map { lanes[$0] + lanes[$0 + 4] }
                var s = (four[0] + four[2]) + (four[1] + four[3])
                for j in whole ..< count { s += a[j] * b[j] }
                return s
            }
            let p = rows.map { row in
                let copy = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(count, 1))
                copy.initialize(from: row, count: count)
                return UnsafePointer(copy)
            }
            defer { p.forEach { $0.deallocate() } }
            let single = (0 ..< 4).map { dotProduct(p[2 * $0], p[2 * $0 + 1], count: count) }
            for i in 0 ..< 4 {
                XCTAssertEqual(single[i].bitPattern, expected(rows[2 * i], rows[2 * i + 1]).bitPattern, "count \(count)")
            }
            let four = rowDotProducts(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], count: count)
            for i in 0 ..< 4 { XCTAssertEqual(four[i].bitPattern, single[i].bitPattern, "count \(count) row \(i)") }
        }
    }
}
