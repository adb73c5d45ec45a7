import Foundation
import Kernels
import XCTest

/// `BLAS.select`: the linked OpenBLAS, the build that scripts/setup.sh installs, or a library named by path.
final class BLASSelectionTests: XCTestCase {
    override func tearDown() {
        try? BLAS.select(.system)   // the other tests run on the linked build
        BLAS.setThreads(1)
    }

    /// C = op(A)·op(B) in float64, row-major, for the comparisons below.
    private func reference(_ ta: BLAS.Transpose, _ tb: BLAS.Transpose, m: Int, n: Int, k: Int,
                           a: [Float], b: [Float]) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s = 0.0
                for p in 0 ..< k {
                    let x = ta == .none ? a[i * k + p] : a[p * m + i]
                    let y = tb == .none ? b[p * n + j] : b[j * k + p]
                    s += Double(x) * Double(y)
                }
                c[i * n + j] = s
            }
        }
        return c
    }

    private func product(_ ta: BLAS.Transpose, _ tb: BLAS.Transpose, m: Int, n: Int, k: Int,
                         a: [Float], b: [Float]) -> [Float] {
        var c = [Float](repeating: .nan, count: m * n)
        BLAS.sgemm(ta, tb, m: m, n: n, k: k, alpha: 1, a: a, lda: ta == .none ? k : m, b: b,
                   ldb: tb == .none ? n : k, beta: 0, c: &c, ldc: n)
        return c
    }

    /// Every transpose pair at the step's shape kinds (k = d small, and k = K large): the same products as a
    /// float64 reference, through the library that was chosen.
    private func checkProducts(_ label: String) {
        var random = SeededRandom(seed: 21)
        for (m, n, k) in [(37, 29, 64), (64, 32, 300), (5, 1, 7)] {
            let a = (0 ..< m * k).map { _ in Float(random.nextGaussian()) }
            let b = (0 ..< k * n).map { _ in Float(random.nextGaussian()) }
            for ta in [BLAS.Transpose.none, .transpose] {
                for tb in [BLAS.Transpose.none, .transpose] {
                    let c = product(ta, tb, m: m, n: n, k: k, a: a, b: b)
                    let r = reference(ta, tb, m: m, n: n, k: k, a: a, b: b)
                    let worst = zip(c, r).map { abs(Double($0) - $1) }.max() ?? 0
                    XCTAssertLessThan(worst, 1e-3 * Double(k).squareRoot(), "\(label): \(m)×\(n)×\(k) \(ta) \(tb)")
                }
            }
            var y = [Float](repeating: 1, count: m)
            let x = (0 ..< k).map { _ in Float(random.nextGaussian()) }
            BLAS.sgemv(.none, m: m, n: k, alpha: 2, a: a, lda: k, x: x, beta: 0.5, y: &y)
            for i in 0 ..< m {
                let expected = 0.5 + 2 * (0 ..< k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(x[$1]) }
                XCTAssertEqual(Double(y[i]), expected, accuracy: 1e-3 * Double(k).squareRoot(), "\(label): sgemv row \(i)")
            }
        }
    }

    func testTheInstalledBuildIsChosenByDefaultAndComputesTheSameProducts() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: BLAS.installedLibraryPath),
                      "\(BLAS.installedLibraryPath) is missing: run scripts/setup.sh")
        try BLAS.select(.automatic)
        XCTAssertEqual(BLAS.libraryPath, BLAS.installedLibraryPath)
        XCTAssertTrue(BLAS.configuration.hasPrefix("OpenBLAS 0.3.34"), BLAS.configuration)
        XCTAssertTrue(BLAS.summary.hasSuffix("(\(BLAS.installedLibraryPath))"), BLAS.summary)
        BLAS.setThreads(2)
        XCTAssertEqual(BLAS.threads, 2, "threads are set in the loaded library")
        BLAS.setThreads(1)
        XCTAssertEqual(BLAS.threads, 1)
        checkProducts("installed build")

        try BLAS.select(.system)
        XCTAssertNil(BLAS.libraryPath)
        XCTAssertTrue(BLAS.summary.hasSuffix("(linked)"), BLAS.summary)
        XCTAssertFalse(BLAS.configuration.hasPrefix("OpenBLAS 0.3.34"), "back on the linked build: \(BLAS.configuration)")
        checkProducts("linked build")
    }

    /// A library with plain symbols (the linked Debian build, loaded again by name) works like one with the
    /// `scipy_` prefix.
    func testALibraryWithPlainSymbolsCanBeLoadedByPath() throws {
        let linked = BLAS.configuration
        try BLAS.select(.library("libopenblas.so.0"))
        XCTAssertEqual(BLAS.libraryPath, "libopenblas.so.0")
        XCTAssertEqual(BLAS.configuration, linked)
        checkProducts("libopenblas.so.0 by path")
    }

    /// An ILP64 build (64-bit integer arguments) with plain symbols, Debian's libopenblas64, is recognised by its
    /// configuration and called with 64-bit integers: the same products. (The scipy-openblas64 build in NumPy's
    /// wheels, `scipy_…64_` names, takes the same path.)
    func testAnILP64BuildIsCalledWithWideIntegers() throws {
        let path = "/usr/lib/x86_64-linux-gnu/openblas64-pthread/libopenblas64.so.0"
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "\(path) is missing: run scripts/setup.sh")
        try BLAS.select(.library(path))
        XCTAssertEqual(BLAS.libraryPath, path)
        XCTAssertTrue(BLAS.configuration.contains("USE64BITINT"), BLAS.configuration)
        checkProducts("ILP64 build")
    }

    func testUnloadableLibrariesAreRefusedAndTheRoutingStays() throws {
        try BLAS.select(.system)
        let missing = "/nonexistent/libnothing.so"
        XCTAssertThrowsError(try BLAS.select(.library(missing))) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot load BLAS library \(missing): "), "\(error)")
        }
        XCTAssertNil(BLAS.libraryPath, "a failed load keeps the linked build")
        // A real shared library that is not an OpenBLAS build.
        XCTAssertThrowsError(try BLAS.select(.library("libzmq.so.5"))) { error in
            XCTAssertTrue("\(error)".contains("libzmq.so.5 is not an OpenBLAS build"), "\(error)")
        }
        XCTAssertNil(BLAS.libraryPath)
        checkProducts("after the refusals")
    }

    func testChoicesReadFromTheFlag() {
        XCTAssertEqual(BLAS.Choice("auto"), .automatic)
        XCTAssertEqual(BLAS.Choice("system"), .system)
        XCTAssertEqual(BLAS.Choice("/opt/lib/libopenblas.so"), .library("/opt/lib/libopenblas.so"))
        XCTAssertEqual("\(BLAS.Choice.automatic)", "auto")
    }
}
