import Foundation
import TestSupport
import XCTest

/// `bench step` as bench/speed.sh runs it, and bench/summarize.py, which turns its log into the README's table.
final class BenchOutputTests: XCTestCase {
    /// Runs `bench ARGS` to completion; its exit status and everything it printed.
    private func bench(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let dir = try ProcessHarness.temporaryDirectory("bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try ProcessHarness.start("bench", arguments, logName: "bench", in: dir,
                                           environment: ["OPENBLAS_NUM_THREADS": "1"])
        let status = try XCTUnwrap(run.wait(seconds: 120), "bench did not finish: \(run.log)")
        return (status, run.log)
    }

    /// The fields of the output's RESULT line (values in double quotes may hold spaces).
    private func result(_ output: String) throws -> [String: String] {
        let line = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("RESULT ") }, output)
        var fields: [String: String] = [:]
        var rest = Substring(line.dropFirst("RESULT ".count))
        while !rest.isEmpty {
            let key = rest.prefix { $0 != "=" }
            rest = rest.dropFirst(key.count + 1)
            let value: Substring
            if rest.first == "\"" {
                value = rest.dropFirst().prefix { $0 != "\"" }
                rest = rest.dropFirst(value.count + 2)
            } else {
                value = rest.prefix { $0 != " " }
                rest = rest.dropFirst(value.count)
            }
            fields[String(key)] = String(value)
            rest = rest.drop { $0 == " " }
        }
        return fields
    }

    private let tiny = ["step", "--users", "300", "--items", "400", "--dim", "16", "--batch", "64", "--negatives", "64",
                        "--warmup", "1", "--windows", "5", "--steps-per-window", "2"]

    func testTheCeilingWindowsReportEveryBuildAndLeaveTheStepAlone() throws {
        let plain = try bench(tiny)
        XCTAssertEqual(plain.status, 0, plain.output)
        let measured = try bench(tiny + ["--gemm", "--ceiling-blas", "system"])
        XCTAssertEqual(measured.status, 0, measured.output)
        let p = try result(plain.output), m = try result(measured.output)

        // The same steps with the same seed: switching builds between windows must not change what the step computes.
        XCTAssertEqual(m["state_hash"], p["state_hash"])
        XCTAssertEqual(m["loss"], p["loss"])
        // And the step's build is selected again after each window's other builds (the line names the one in use).
        XCTAssertEqual(m["blas"], p["blas"])
        XCTAssertNil(p["gemm_fraction"])
        XCTAssertNil(p["gemm_work_vs_best"])

        // One share per build, the step's own first, each positive, and the reported figure the lowest of them.
        let builds = try XCTUnwrap(m["gemm_work_vs_builds"]).split(separator: ",").map { Double($0)! }
        XCTAssertEqual(builds.count, 2)
        XCTAssertEqual(Double(try XCTUnwrap(m["gemm_work_vs_best"]))!, builds.min()!)
        XCTAssertTrue(builds.allSatisfy { $0 > 0 }, "\(builds)")
        let ceilings = try XCTUnwrap(m["ceilings"])
        XCTAssertTrue(ceilings.hasPrefix("system:"), ceilings)
        XCTAssertGreaterThan(Double(ceilings.dropFirst("system:".count)) ?? 0, 0, ceilings)
        XCTAssertTrue(try XCTUnwrap(m["ceiling_configs"]).contains("OpenBLAS"), measured.output)
        XCTAssertGreaterThan(Double(try XCTUnwrap(m["gemm_fraction"]))!, 0)
    }

    func testOtherCeilingsWithoutTheCeilingWindowsAreRefused() throws {
        let run = try bench(tiny + ["--ceiling-blas", "system"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.output.contains("--ceiling-blas needs --gemm"), run.output)
        XCTAssertFalse(run.output.contains("RESULT"), run.output)
    }

    /// Two rounds of one shape, with figures chosen so that every column has a known value; round 2 names Debian's
    /// build as logs before the loadable BLAS did.
    private let speedLog = """
        # fixture
        RESULT round=1 impl=swift path=kernels B=1024 K=1024 d=64 threads=1 ips=200000 gemm_gflops=80.0 gemm_fraction=0.76 gemm_work_vs_best=0.70 blas="OpenBLAS x (y)"
        RESULT round=1 impl=torch-fused alloc=default B=1024 K=1024 d=64 threads=1 ips=40000
        RESULT round=1 impl=torch-fused alloc=tcmalloc B=1024 K=1024 d=64 threads=1 ips=50000
        RESULT round=1 impl=torch-straight alloc=default B=1024 K=1024 d=64 threads=1 ips=30000
        RESULT round=1 impl=torch-straight alloc=tcmalloc B=1024 K=1024 d=64 threads=1 ips=45000
        RESULT round=1 impl=openblas-system B=1024 K=1024 d=64 threads=1 fwd_gflops=66.0 bwd_gflops=68.0 pair_ms=4.0 config="OpenBLAS 0.3.21"
        RESULT round=1 impl=openblas-library B=1024 K=1024 d=64 threads=1 fwd_gflops=76.0 bwd_gflops=77.0 pair_ms=3.5 config="OpenBLAS 0.3.34"
        RESULT round=1 impl=openblas-numpy B=1024 K=1024 d=64 threads=1 fwd_gflops=83.0 bwd_gflops=84.0 pair_ms=3.2 config="OpenBLAS 0.3.31"
        RESULT round=2 impl=swift path=kernels B=1024 K=1024 d=64 threads=1 ips=150000 gemm_gflops=70.0 gemm_fraction=0.70 gemm_work_vs_best=0.66 blas="OpenBLAS x (y)"
        RESULT round=2 impl=torch-fused alloc=default B=1024 K=1024 d=64 threads=1 ips=55000
        RESULT round=2 impl=torch-fused alloc=tcmalloc B=1024 K=1024 d=64 threads=1 ips=60000
        RESULT round=2 impl=torch-straight alloc=default B=1024 K=1024 d=64 threads=1 ips=20000
        RESULT round=2 impl=torch-straight alloc=tcmalloc B=1024 K=1024 d=64 threads=1 ips=58000
        RESULT round=2 impl=openblas-debian B=1024 K=1024 d=64 threads=1 fwd_gflops=62.0 bwd_gflops=64.0 pair_ms=4.2 config="OpenBLAS 0.3.21"
        RESULT round=2 impl=openblas-library B=1024 K=1024 d=64 threads=1 fwd_gflops=70.0 bwd_gflops=71.0 pair_ms=3.8 config="OpenBLAS 0.3.34"
        RESULT round=2 impl=openblas-numpy B=1024 K=1024 d=64 threads=1 fwd_gflops=60.0 bwd_gflops=62.0 pair_ms=4.4 config="OpenBLAS 0.3.31"

        """

    func testTheSpeedSummaryTakesMediansOfPerRoundRatios() throws {
        let dir = try ProcessHarness.temporaryDirectory("summarize")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("speed.log")
        try speedLog.write(to: log, atomically: true, encoding: .utf8)
        let script = ProcessHarness.packageRoot.appendingPathComponent("bench/summarize.py").path
        let run = try ProcessHarness.start("/usr/bin/env", ["python3", script, log.path], logName: "summary", in: dir,
                                           absolute: true)
        XCTAssertEqual(run.wait(seconds: 60), 0, run.log)
        let row = try XCTUnwrap(run.log.split(separator: "\n").first { $0.hasPrefix("| 1024 |") }, run.log)
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(cells, [
            "1024", "1024", "64", "1",
            "175000",                                  // Swift: median of 200,000 and 150,000
            "47500", "55000", "25000", "51500",        // each PyTorch variant's median
            "**3.25×** (4.00, 2.50)",                  // per round Swift / best PyTorch: 200k / 50k, 150k / 60k
            "0.73",                                    // median GEMM fraction of 0.76 and 0.70
            "**0.68** (0.70, 0.66)",                   // the step's own figure against the best build, per round
            // Against every rate, per build: the step's GEMM rate (80 × 0.76 = 60.8, then 70 × 0.70 = 49) over the
            // build's rate in the same round (268.4 GFLOP per pair over its time), median over rounds. In-process:
            // 0.76, 0.70; Debian's (4.0, 4.2 ms): 0.91, 0.77; 0.3.34 (3.5, 3.8 ms): 0.79, 0.69; NumPy's (3.2,
            // 4.4 ms): 0.72, 0.80. The lowest median is the in-process one; each round's fastest rate would have
            // given 0.72 and 0.69, median 0.71.
            "0.73 (0.73, 0.84, 0.74, 0.76)",
            "64.0 / 66.0", "73.0 / 74.0", "71.5 / 73.0",   // Debian's (named openblas-debian in round 2), 0.3.34, NumPy's
        ])
    }
}

/// bench/lib.sh, which every benchmark script sources for its build flags.
final class BenchScriptLibraryTests: XCTestCase {
    /// What `bench_build_flags` prints with SWIFT_BUILD_FLAGS set to `given`, or unset for nil.
    private func buildFlags(given: String?) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BUILD_FLAGS"] = given
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "cd \"$1\" && source bench/lib.sh && bench_build_flags", "bash",
                             ProcessHarness.packageRoot.path]
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testTheBuildFlagsFollowTheCPUUnlessGiven() throws {
        XCTAssertEqual(try buildFlags(given: "-Xswiftc -Onone"), "-Xswiftc -Onone")
        XCTAssertEqual(try buildFlags(given: ""), "", "set and empty asks for the portable build")
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?
            .split(separator: " ").map(String.init) ?? [])
        XCTAssertEqual(try buildFlags(given: nil),
                       flags.contains("avx2") && flags.contains("fma") ? "-Xswiftc -target-cpu -Xswiftc haswell" : "")
    }
}
