import Kernels

/// The step's two GEMMs alone, at full size: the ceiling that the step's GEMM work is compared with.
///
/// forward:  logits (B, K) = q (B, d) · nᵀ (d, K) / τ
/// backward: dq (B, d)     = G (B, K) · n (K, d)
final class GemmWorkload {
    let batch: Int, negatives: Int, dim: Int
    private var q: [Float], n: [Float], logits: [Float], dq: [Float]

    init(batch: Int, negatives: Int, dim: Int, seed: UInt64 = 11) {
        self.batch = batch
        self.negatives = negatives
        self.dim = dim
        var random = SeededRandom(seed: seed)
        q = (0 ..< batch * dim).map { _ in Float(random.nextGaussian()) * 0.1 }
        n = (0 ..< negatives * dim).map { _ in Float(random.nextGaussian()) * 0.1 }
        logits = [Float](repeating: 0, count: batch * negatives)
        dq = [Float](repeating: 0, count: batch * dim)
    }

    var flopsPerPair: Double { 4 * Double(batch) * Double(negatives) * Double(dim) }

    func forward() {
        let (B, K, d) = (batch, negatives, dim)
        q.withUnsafeBufferPointer { q in
            n.withUnsafeBufferPointer { n in
                logits.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(.none, .transpose, m: B, n: K, k: d, alpha: 10, a: q.baseAddress!, lda: d,
                               b: n.baseAddress!, ldb: d, beta: 0, c: c.baseAddress!, ldc: K)
                }
            }
        }
    }

    func backward() {
        let (B, K, d) = (batch, negatives, dim)
        logits.withUnsafeBufferPointer { g in
            n.withUnsafeBufferPointer { n in
                dq.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(.none, .none, m: B, n: d, k: K, alpha: 1, a: g.baseAddress!, lda: K,
                               b: n.baseAddress!, ldb: d, beta: 0, c: c.baseAddress!, ldc: d)
                }
            }
        }
    }

    /// One forward and one backward: the GEMM work of one step.
    func pair() {
        forward()
        backward()
    }
}
