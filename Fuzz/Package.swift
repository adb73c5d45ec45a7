// swift-tools-version:6.0
// The libFuzzer build of the fuzz targets, kept apart from the main package because it only links with
// `-sanitize=fuzzer` (its `main` calls libFuzzer's driver). Built and run by scripts/fuzz.sh; see the README's
// "Fuzzing".
import PackageDescription

let package = Package(
    name: "MemoryBankTrainerFuzz",
    platforms: [.macOS(.v13)],
    products: [.executable(name: "fuzz-targets", targets: ["FuzzEntry"])],
    dependencies: [.package(name: "MemoryBankTrainer", path: "..")],
    targets: [
        .executableTarget(name: "FuzzEntry", dependencies: [.product(name: "FuzzTargets", package: "MemoryBankTrainer")]),
    ],
    swiftLanguageModes: [.v6]
)
