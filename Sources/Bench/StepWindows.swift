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

    /// Per build (the step's own first, then the others in order), the median over windows of that build's GEMM
    /// time over the step's time: the step's GEMM flops per second over that build's full-size rate, each window's
    /// ratio taken within the window (the machine's speed drifts between windows). Empty without other builds.
    var sharesOfBuilds: [Double] {
        guard !others.isEmpty else { return [] }
        return ([gemm] + others).map { times in median(times.indices.map { times[$0] / step[$0] }) }
    }

    /// The lowest of `sharesOfBuilds`: the share of the build with the highest typical rate, nil without other
    /// builds. Not the fastest build of each window: with builds of about the same speed, that picks each window's
    /// luckiest timing, a ceiling above what any build keeps up.
    var shareOfBest: Double? { sharesOfBuilds.min() }

    /// Median seconds of other build `i`'s full-size GEMMs.
    func otherSeconds(_ i: Int) -> Double { median(others[i]) }
}
