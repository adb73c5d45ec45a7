/// The timings of `bench step`, window by window: the step's seconds per step and, with `--gemm`, the seconds of
/// the step's two GEMMs alone at full size with the step's own OpenBLAS build and with each `--ceiling-blas` build,
/// all measured in the same window. What the RESULT line reports is computed here.
struct StepWindows {
    private(set) var step: [Double] = []
    private(set) var gemm: [Double] = []
    /// Per other build, its GEMM seconds of each window.
    private(set) var others: [[Double]]

    init(otherBuilds: Int) {
        others = [[Double]](repeating: [], count: otherBuilds)
    }

    mutating func addStep(_ seconds: Double) { step.append(seconds) }

    /// The ceiling of the window just timed: the step's build, then each other build in order.
    mutating func addCeiling(own: Double, others seconds: [Double]) {
        precondition(seconds.count == others.count, "\(seconds.count) ceilings for \(others.count) other builds")
        precondition(gemm.count < step.count, "a ceiling window before its step window")
        gemm.append(own)
        for (i, s) in seconds.enumerated() { others[i].append(s) }
    }

    /// Median seconds per step.
    var stepSeconds: Double { median(step) }

    /// Median seconds of the full-size GEMMs with the step's own build, nil without `--gemm`.
    var gemmSeconds: Double? { gemm.isEmpty ? nil : median(gemm) }

    /// The GEMM fraction against the step's own build: median GEMM time over median step time.
    var gemmFraction: Double? { gemmSeconds.map { $0 / stepSeconds } }

    /// Per window, the fastest build's GEMM time over the step's time: the step's GEMM flops per second over the
    /// fastest full-size rate of that window. Empty without other builds.
    var sharesOfBest: [Double] {
        guard !others.isEmpty else { return [] }
        return gemm.indices.map { w in ([gemm[w]] + others.map { $0[w] }).min()! / step[w] }
    }

    /// The median of `sharesOfBest`, nil without other builds.
    var shareOfBest: Double? {
        let shares = sharesOfBest
        return shares.isEmpty ? nil : median(shares)
    }

    /// Median seconds of other build `i`'s full-size GEMMs.
    func otherSeconds(_ i: Int) -> Double { median(others[i]) }
}
