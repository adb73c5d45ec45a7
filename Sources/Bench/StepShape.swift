/// Everything that defines one benchmarked training step: table sizes, batch, negatives, loss and optimizer.
struct StepShape: Sendable {
    var users = 29_858
    var items = 40_981
    var dim = 64
    var batch = 4096
    var negatives = 4096
    var temperature: Float = 0.1
    var momentum: Float = 0.5
    var learningRate: Float = 1e-3
    var seed: UInt64 = 7

    /// Float32 multiply-adds of the step's two GEMMs (forward q·nᵀ and backward G·n), as flops.
    var gemmFlops: Double { 2 * 2 * Double(batch) * Double(negatives) * Double(dim) }

    var summary: String { "B=\(batch) K=\(negatives) d=\(dim) users=\(users) items=\(items)" }
}
