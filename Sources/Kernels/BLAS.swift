import CBLAS
import Foundation

/// The one door to OpenBLAS: every dense product in the project goes through here.
///
/// Calls go to the OpenBLAS the executables link (Debian's `libopenblas-dev`) until `select` loads another build
/// at run time (by default the newer one that `scripts/setup.sh` installs at `installedLibraryPath`).
/// Pointers are the callers' `withUnsafe…` buffers; none is kept.
public enum BLAS {
    public enum Transpose: Sendable {
        case none, transpose
        var cblas: Int32 { self == .none ? 111 : 112 }
    }

    static let rowMajor: Int32 = 101

    /// Where the newer OpenBLAS goes when `scripts/setup.sh` installs it (the library of the scipy-openblas32
    /// wheel, its symbols prefixed `scipy_`).
    public static let installedLibraryPath = "/usr/local/lib/mbt/libscipy_openblas.so"

    /// Which OpenBLAS a process uses: `--blas auto`, `system` or a library path.
    public enum Choice: Equatable, Sendable, CustomStringConvertible {
        /// The library at `installedLibraryPath` when it is there, else the linked one.
        case automatic
        /// The OpenBLAS the executables link.
        case system
        /// An OpenBLAS shared library, its symbols plain, prefixed `scipy_`, or the `scipy_…64_` names of an ILP64
        /// build (whose 64-bit integers the loader recognises from the build's configuration).
        case library(String)

        public init(_ text: String) {
            switch text {
            case "auto": self = .automatic
            case "system": self = .system
            default: self = .library(text)
            }
        }

        /// The values of a `--blas` flag, for its help text.
        public static let help = "auto (the one scripts/setup.sh installs at \(installedLibraryPath) when it is there, else the linked one), system (the linked libopenblas) or the path of an OpenBLAS shared library"

        public var description: String {
            switch self {
            case .automatic: "auto"
            case .system: "system"
            case .library(let path): path
            }
        }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Routes every call to the chosen OpenBLAS; call it before any other thread uses BLAS. Throws, and keeps the
    /// current routing, when a named library cannot be loaded or is not an OpenBLAS build.
    public static func select(_ choice: Choice) throws {
        switch choice {
        case .system:
            mbt_blas_use_linked()
        case .automatic:
            if FileManager.default.fileExists(atPath: installedLibraryPath) {
                try load(installedLibraryPath)
            } else {
                mbt_blas_use_linked()
            }
        case .library(let path):
            try load(path)
        }
    }

    private static func load(_ path: String) throws {
        var message = [CChar](repeating: 0, count: 1024)
        if mbt_blas_load(path, &message, message.count) != 0 {
            throw LoadError(description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                                as: UTF8.self))
        }
    }

    /// The loaded library's path, nil while calls go to the linked OpenBLAS.
    public static var libraryPath: String? { mbt_blas_loaded_path().map { String(cString: $0) } }

    /// What is in use, for logs: the build description and where it came from.
    public static var summary: String {
        "\(configuration) (\(libraryPath ?? "linked"))"
    }

    /// C (m, n) = alpha · op(A) (m, k) · op(B) (k, n) + beta · C, row-major.
    @inline(__always)
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm with negative shape \(m)×\(n)×\(k)")
        if m == 0 || n == 0 { return }
        mbt_blas_sgemm(rowMajor, transA.cblas, transB.cblas,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y (m) = alpha · op(A) (m, n) · x + beta · y, row-major.
    @inline(__always)
    public static func sgemv(
        _ transA: Transpose, m: Int, n: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        if m == 0 || n == 0 { return }
        mbt_blas_sgemv(rowMajor, transA.cblas, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Sets the number of threads OpenBLAS uses in this process.
    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        mbt_blas_set_num_threads(Int32(count))
    }

    public static var threads: Int { Int(mbt_blas_get_num_threads()) }

    /// OpenBLAS's build description (core type, threading), for benchmark reports.
    public static var configuration: String { String(cString: mbt_blas_config()) }
}
