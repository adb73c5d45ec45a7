import FuzzTargets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The libFuzzer driver for every fuzz target; FUZZ_TARGET (set by scripts/fuzz.sh) names the one to run, and the
/// arguments are libFuzzer's. Built with `-sanitize=fuzzer`, which links libFuzzer; `main` hands over to its
/// driver (SwiftPM gives an executable its own `main`, so libFuzzer's cannot be used).
@main
enum FuzzEntry {
    static func main() {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = getenv("FUZZ_TARGET").map({ String(cString: $0) }) else {
            printError("fuzz-targets: set FUZZ_TARGET to one of: \(names)")
            exit(2)
        }
        guard let target = FuzzTarget(rawValue: name) else {
            printError("fuzz-targets: unknown FUZZ_TARGET \"\(name)\"; one of: \(names)")
            exit(2)
        }
        selected = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }
}

nonisolated(unsafe) private var selected: FuzzTarget = .envelope

/// libFuzzer's entry point (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*)(const uint8_t *, size_t))`).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// One input: a thrown `FuzzFailure` aborts, which libFuzzer reports as a crash and saves the input.
private func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try selected.run(input)
    } catch {
        printError("fuzz-targets: \(selected.rawValue): \(error)")
        abort()
    }
    return 0
}

private func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
