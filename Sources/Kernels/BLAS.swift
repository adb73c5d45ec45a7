import COpenBLAS

/// The one door to OpenBLAS: every dense product in the project goes through here.
///
/// Pointers are the callers' `withUnsafe…` buffers; none is kept.
public enum BLAS {
    public enum Transpose: Sendable {
        case none, transpose
        var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
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
        cblas_sgemm(CblasRowMajor, transA.cblas, transB.cblas,
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
        cblas_sgemv(CblasRowMajor, transA.cblas, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// Sets the number of threads OpenBLAS uses in this process.
    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(count))
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS's build description (core type, threading), for benchmark reports.
    public static var configuration: String { String(cString: openblas_get_config()) }
}
