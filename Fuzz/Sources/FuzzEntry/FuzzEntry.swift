import FuzzTargets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// libFuzzer's entry points. One binary serves every target; FUZZ_TARGET (set by scripts/fuzz.sh) names the one
// to run. Built with `-sanitize=fuzzer -parse-as-library`: libFuzzer provides `main`.

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name = getenv("FUZZ_TARGET").map({ String(cString: $0) }) else {
        fputs("fuzz-targets: set FUZZ_TARGET to one of: \(names)\n", stderr)
        exit(2)
    }
    guard let target = FuzzTarget(rawValue: name) else {
        fputs("fuzz-targets: unknown FUZZ_TARGET \"\(name)\"; one of: \(names)\n", stderr)
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try selected!.run(input)
    } catch {
        fputs("fuzz-targets: \(selected!.rawValue): \(error)\n", stderr)
        abort()
    }
    return 0
}
