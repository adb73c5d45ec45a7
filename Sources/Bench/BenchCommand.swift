import ArgumentParser
import CommandSupport
import Foundation
import Kernels

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Speed benchmarks of the training step; bench/speed.sh runs them side by side with PyTorch.",
        subcommands: [StepCommand.self, GemmCommand.self, DumpCommand.self, CRCCommand.self])

    /// The allocator settings of `coordinator` and `worker`, so that the step is timed as they run it.
    static func main() {
        ProcessMemory.keepFreedBlocks()
        main(nil)
    }
}

/// The shape flags shared by every mode.
struct ShapeOptions: ParsableArguments {
    @Option(help: "Rows of the user table.") var users = 29_858
    @Option(help: "Rows of the item table (and the bank).") var items = 40_981
    @Option(help: "Embedding dimension d.") var dim = 64
    @Option(help: "Pairs per step B.") var batch = 4096
    @Option(help: "Bank negatives per step K.") var negatives = 4096
    @Option(help: "Softmax temperature τ.") var temperature: Float = 0.1
    @Option(help: "Memory-bank momentum m.") var momentum: Float = 0.5
    @Option(help: "Adam learning rate.") var lr: Float = 1e-3
    @Option(help: "Seed of tables, minibatches and negatives.") var seed: UInt64 = 7
    @Option(help: "OpenBLAS threads.") var threads = 1
    @Option(help: "The OpenBLAS build: \(BLAS.Choice.help).")
    var blas = "auto"

    /// Loads the chosen OpenBLAS and gives it `threads`; every mode calls this first.
    func startBLAS() throws {
        try BLAS.select(BLAS.Choice(blas))
        BLAS.setThreads(threads)
    }

    /// For RESULT lines: which OpenBLAS timed it.
    var blasImpl: String { BLAS.libraryPath == nil ? "openblas-system" : "openblas-library" }

    var shape: StepShape {
        StepShape(users: users, items: items, dim: dim, batch: batch, negatives: negatives, temperature: temperature,
                  momentum: momentum, learningRate: lr, seed: seed)
    }

    func validate() throws {
        guard users > 0, items > 0, dim > 0, batch > 0, negatives > 0, threads > 0 else {
            throw ValidationError("--users, --items, --dim, --batch, --negatives and --threads must be positive")
        }
    }
}

/// Warm-up, then timed windows; windows of the step and (optionally) of its GEMMs alone alternate.
struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Times the full single-process step (sampling, gradient, Adam, bank update) in interactions/s.")

    @OptionGroup var options: ShapeOptions
    @Option(help: "Untimed steps first.") var warmup = 3
    @Option(help: "Timed windows; the median is reported.") var windows = 7
    @Option(help: "Steps per window.") var stepsPerWindow = 3
    @Option(help: "kernels: Kernels + MemoryBank only; state: the update through the coordinator's TrainingState.")
    var path = "kernels"
    @Flag(help: "Alternate each step window with a window of the step's two GEMMs alone (the ceiling).")
    var gemm = false
    @Option(help: "With --gemm: other OpenBLAS builds (comma-separated --blas choices, e.g. system,/path/to/libscipy_openblas64_.so) whose full-size GEMMs are timed in every window too; the step's GEMM work is then compared with each build, window by window, and reported against the build with the highest median rate.")
    var ceilingBlas: String?
    @Flag(help: "Print the share of time in sampling, gradient, optimizer and bank update.")
    var phases = false
    @Option(help: "Rows per fused softmax block of the bank kernel (default: bankContrastiveBlockRows).")
    var blockRows: Int?
    @Option(help: "How --threads are used: rows (ranges of rows side by side, OpenBLAS single-threaded in each) or blas (one range, OpenBLAS threads).")
    var parallel = "rows"

    func run() throws {
        guard let path = StepWorkload.Path(rawValue: path) else {
            throw ValidationError("--path must be kernels or state, got \(path)")
        }
        guard parallel == "rows" || parallel == "blas" else {
            throw ValidationError("--parallel must be rows or blas, got \(parallel)")
        }
        let others = try (ceilingBlas?.split(separator: ",").map { String($0) } ?? []).map { choice in
            guard gemm else { throw ValidationError("--ceiling-blas needs --gemm") }
            return BLAS.Choice(choice)
        }
        try options.startBLAS()
        let stepBLAS = BLAS.libraryPath.map(BLAS.Choice.library) ?? .system
        let stepBLASThreads = parallel == "rows" ? 1 : options.threads
        BLAS.setThreads(stepBLASThreads)
        let shape = options.shape
        let workload = StepWorkload(shape: shape, path: path)
        workload.computer.bankBlockRows = blockRows
        workload.computer.kernelThreads = parallel == "rows" ? options.threads : 1
        let ceiling = gemm ? GemmWorkload(batch: shape.batch, negatives: shape.negatives, dim: shape.dim) : nil
        var t = 0
        var loss = 0.0
        for _ in 0 ..< warmup { loss = workload.step(t); t += 1 }
        BLAS.setThreads(options.threads)
        for _ in 0 ..< min(warmup, 2) { ceiling?.pair() }
        BLAS.setThreads(stepBLASThreads)
        workload.resetPhases()
        // Each other build: its configuration, and its GEMM seconds per window.
        var otherConfigurations: [String] = []
        for choice in others {
            try BLAS.select(choice)
            otherConfigurations.append(BLAS.configuration)
            BLAS.setThreads(options.threads)
            for _ in 0 ..< min(warmup, 2) { ceiling?.pair() }
        }
        try BLAS.select(stepBLAS)
        BLAS.setThreads(stepBLASThreads)
        var windowTimes = StepWindows(otherBuilds: others.count)
        for _ in 0 ..< windows {
            let start = monotonicSeconds()
            for _ in 0 ..< stepsPerWindow { loss = workload.step(t); t += 1 }
            windowTimes.addStep((monotonicSeconds() - start) / Double(stepsPerWindow))
            if let ceiling {   // the ceiling: the full-size GEMMs with every thread given to OpenBLAS
                // Seconds per pair of the full-size GEMMs with the OpenBLAS build selected now.
                // One untimed pair first, so that every build starts with its operands in cache, whichever ran
                // before it (the step window or another build).
                func timeCeiling() -> Double {
                    BLAS.setThreads(options.threads)
                    ceiling.pair()
                    let start = monotonicSeconds()
                    for _ in 0 ..< stepsPerWindow { ceiling.pair() }
                    return (monotonicSeconds() - start) / Double(stepsPerWindow)
                }
                let own = timeCeiling()
                var other: [Double] = []
                for choice in others {
                    try BLAS.select(choice)
                    other.append(timeCeiling())
                }
                windowTimes.addCeiling(own: own, others: other)
                if !others.isEmpty { try BLAS.select(stepBLAS) }
                BLAS.setThreads(stepBLASThreads)
            }
        }
        let step = windowTimes.stepSeconds
        var line = "RESULT impl=swift path=\(path.rawValue) B=\(shape.batch) K=\(shape.negatives) d=\(shape.dim)"
            + " threads=\(options.threads) parallel=\(parallel) block_rows=\(blockRows.map(String.init) ?? "auto") ips=\(fixed(Double(shape.batch) / step, 0)) step_ms=\(fixed(step * 1000, 2))"
            + " loss=\(fixed(loss, 5)) users=\(shape.users) items=\(shape.items) peak_rss_mib=\(fixed(peakResidentMiB(), 0))"
            + " state_hash=\(String(workload.state.contentHash(), radix: 16))"
        if let g = windowTimes.gemmSeconds, let fraction = windowTimes.gemmFraction {
            line += " gemm_ms=\(fixed(g * 1000, 2)) gemm_gflops=\(fixed(shape.gemmFlops / g / 1e9, 1))"
                + " gemm_fraction=\(fixed(fraction, 3))"
        }
        if let share = windowTimes.shareOfBest {
            // The step's GEMM work against each build (own first, then the others), and against the build with the
            // highest typical rate (StepWindows.sharesOfBuilds, shareOfBest).
            let rates = others.indices.map { i in
                "\(others[i]):\(fixed(shape.gemmFlops / windowTimes.otherSeconds(i) / 1e9, 1))"
            }
            line += " ceilings=\"\(rates.joined(separator: ","))\" gemm_work_vs_best=\(fixed(share, 3))"
                + " gemm_work_vs_builds=\(windowTimes.sharesOfBuilds.map { fixed($0, 3) }.joined(separator: ","))"
                + " ceiling_configs=\"\(otherConfigurations.joined(separator: "; "))\""
        }
        line += " blas=\"\(BLAS.summary)\""
        print(line)
        if phases {
            let total = workload.phaseSeconds.reduce(0, +)
            let parts = StepWorkload.Phase.allCases.map { phase in
                "\(phase)=\(fixed(100 * workload.phaseSeconds[phase.rawValue] / total))%"
            }
            print("PHASES " + parts.joined(separator: " "))
        }
    }
}

/// The step's two GEMMs at full size, each timed alone.
struct GemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "Times sgemm for the step's forward (B×K×d) and backward (B×d×K) shapes.")

    @OptionGroup var options: ShapeOptions
    @Option(help: "Timed windows; the median is reported.") var windows = 7
    @Option(help: "Calls per window.") var callsPerWindow = 5

    func run() throws {
        try options.startBLAS()
        let s = options.shape
        let w = GemmWorkload(batch: s.batch, negatives: s.negatives, dim: s.dim)
        w.pair()
        w.pair()
        var forward: [Double] = [], backward: [Double] = []
        for _ in 0 ..< windows {
            var start = monotonicSeconds()
            for _ in 0 ..< callsPerWindow { w.forward() }
            forward.append((monotonicSeconds() - start) / Double(callsPerWindow))
            start = monotonicSeconds()
            for _ in 0 ..< callsPerWindow { w.backward() }
            backward.append((monotonicSeconds() - start) / Double(callsPerWindow))
        }
        let half = s.gemmFlops / 2
        let f = median(forward), b = median(backward)
        print("RESULT impl=\(options.blasImpl) B=\(s.batch) K=\(s.negatives) d=\(s.dim) threads=\(options.threads)"
              + " fwd_gflops=\(fixed(half / f / 1e9, 1)) bwd_gflops=\(fixed(half / b / 1e9, 1))"
              + " pair_ms=\(fixed((f + b) * 1000, 2)) config=\"\(BLAS.configuration)\"")
    }
}
