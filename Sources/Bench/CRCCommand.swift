import ArgumentParser
import Kernels
import Wire

/// CRC-32C of one buffer in software (slicing-by-8) and with the crc32 instruction, in alternating timed runs.
struct CRCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crc", abstract: "Times CRC-32C in software and with the crc32 instruction (SSE4.2) in GB/s.")

    @Option(help: "Buffer size in bytes.") var bytes = 4 << 20
    @Option(help: "Timed runs of each path, alternating; the median is reported.") var runs = 21
    @Option(help: "Checksums of the whole buffer per run, chained.") var callsPerRun = 3
    @Option(help: "Seed of the buffer's bytes.") var seed: UInt64 = 7

    func validate() throws {
        guard bytes > 0, runs > 0, callsPerRun > 0 else {
            throw ValidationError("--bytes, --runs and --calls-per-run must be positive")
        }
    }

    func run() throws {
        typealias Update = (UInt32, UnsafeRawBufferPointer) -> UInt32
        var random = SeededRandom(seed: seed)
        let data = (0 ..< bytes).map { _ in UInt8(truncatingIfNeeded: random.next() >> 32) }
        var paths: [(name: String, update: Update)] = [("software", CRC32C.softwareUpdate)]
        if CRC32C.hasHardwareSupport { paths.append(("hardware", CRC32C.hardwareUpdate)) }
        var seconds = [[Double]](repeating: [], count: paths.count)
        try data.withUnsafeBytes { buffer in
            /// One run: `callsPerRun` checksums, each continuing the last, so that none can be left out.
            func chain(_ update: Update) -> UInt32 {
                var crc: UInt32 = 0
                for _ in 0 ..< callsPerRun { crc = update(crc, buffer) }
                return crc
            }
            let expected = chain(CRC32C.softwareUpdate)   // untimed: tables, page faults, caches
            for run in 0 ..< runs {
                // Alternate which path goes first, so that neither always finds the buffer warmer in cache.
                for p in run % 2 == 0 ? Array(paths.indices) : paths.indices.reversed() {
                    let start = monotonicSeconds()
                    let crc = chain(paths[p].update)
                    seconds[p].append((monotonicSeconds() - start) / Double(callsPerRun))
                    guard crc == expected else {
                        throw BenchError("\(paths[p].name) CRC-32C differs from the software one on a \(bytes)-byte buffer")
                    }
                }
            }
        }
        let medians = seconds.map(median)
        var line = "RESULT impl=crc32c bytes=\(bytes) runs=\(runs) calls_per_run=\(callsPerRun)"
        for (path, s) in zip(paths, medians) { line += " \(path.name)_gbps=\(fixed(Double(bytes) / s / 1e9, 2))" }
        line += paths.count == 2 ? " ratio=\(fixed(medians[0] / medians[1], 1))" : " hardware=unavailable"
        print(line)
    }
}
