// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "MemoryBankTrainer",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "coordinator", targets: ["CoordinatorCommand"]),
        .executable(name: "worker", targets: ["WorkerCommand"]),
        .executable(name: "bench", targets: ["Bench"]),
        // The fuzz targets' entry points, for the libFuzzer package in Fuzz/ (see scripts/fuzz.sh).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    // Each target depends on exactly the modules and products its files import, no more: scripts/check-layering.sh
    // checks that, and the imports themselves against the module table of docs/DESIGN.md.
    targets: [
        // C libraries: each is imported by exactly one Swift file.
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        // OpenBLAS behind function pointers: the linked build (libopenblas-dev) or one loaded at run time; imported
        // only by Kernels/BLAS.swift.
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("openblas"), .linkedLibrary("dl")]),

        // Software prefetch hints for loops over random rows; imported only by Kernels.
        .target(name: "CPrefetch"),
        // The softmax exp-and-sum pass with AVX2 and FMA, chosen at run time (no global -mavx2); imported only by
        // Kernels/VectorMath.swift.
        .target(name: "CFastExp"),
        // Dense Adam's resting steps with AVX2, chosen at run time; imported only by
        // Kernels/SparseOptimizer+DenseAdam.swift.
        .target(name: "CAdamRest"),
        // SplitMix64, the seeded generator beneath every random stream (training, fault injection, the epoch audit).
        .target(name: "SplitMix"),
        // What both roles and the wire share about a run: loss and sampler kinds, task keys, per-loss rules, every
        // default.
        .target(name: "RunSettings"),
        // Dense math, losses, optimizers, seeded randomness, embedding tables.
        .target(name: "Kernels", dependencies: ["CBLAS", "CPrefetch", "CFastExp", "CAdamRest", "SplitMix", "RunSettings"]),
        // The versioned item memory bank and its momentum update.
        .target(name: "MemoryBank", dependencies: ["Kernels"]),
        // Interaction data: readers, synthetic generator, epoch plans, ranking metrics.
        .target(name: "Dataset", dependencies: ["Kernels"]),
        // CRC-32C with the SSE4.2 crc32 instruction, chosen at run time (no global -msse4.2); imported only by Wire.
        .target(name: "CCRC32C"),
        // Everything that crosses the network: message types and their byte encoding.
        .target(name: "Wire", dependencies: ["CCRC32C", "RunSettings"]),
        // ZeroMQ sockets and the fault-injection layer.
        .target(name: "Transport", dependencies: [
            "CZeroMQ", "Wire", "SplitMix", .product(name: "Logging", package: "swift-log"),
        ]),
        // How state is copied to workers: snapshots, deltas, replicas, spec conversions.
        .target(name: "Replication", dependencies: ["Kernels", "Wire", "RunSettings"]),
        // The run report: SVG charts and the HTML page made from a run's metrics.jsonl (no dependencies).
        .target(name: "Report"),
        .target(name: "Coordinator", dependencies: [
            "Report", "Kernels", "MemoryBank", "Dataset", "Wire", "Transport", "Replication", "SplitMix", "RunSettings",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Worker", dependencies: [
            "Kernels", "Wire", "Transport", "Replication", "RunSettings",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // What both executables share: flags from MBT_* environment variables, status files for health checks.
        .target(name: "CommandSupport", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Prometheus metrics over HTTP for an operator: the only module that imports swift-metrics,
        // swift-prometheus and FlyingFox.
        .target(name: "Telemetry", dependencies: [
            "Coordinator", "Worker", "Transport",
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "FlyingFox", package: "FlyingFox"),
            .product(name: "FlyingSocks", package: "FlyingFox"),
        ]),
        .executableTarget(name: "CoordinatorCommand", dependencies: [
            "Coordinator", "Report", "Dataset", "Kernels", "RunSettings", "Transport", "CommandSupport", "Telemetry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "WorkerCommand", dependencies: [
            "Worker", "Kernels", "RunSettings", "Transport", "CommandSupport", "Telemetry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Speed benchmarks of the training step and its GEMMs (bench/speed.sh runs them against PyTorch).
        .executableTarget(name: "Bench", dependencies: [
            "Kernels", "MemoryBank", "Coordinator", "Wire", "RunSettings", "CommandSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Every decoder and both protocol state machines behind one entry point per fuzz target: run by libFuzzer
        // (Fuzz/, scripts/fuzz.sh) and, over the committed corpus, by FuzzTargetsTests.
        .target(name: "FuzzTargets", dependencies: [
            "Wire", "Transport", "Replication", "Coordinator", "Worker", "Kernels", "RunSettings",
        ]),

        .target(name: "TestSupport", dependencies: ["Wire", "SplitMix", "Transport", "RunSettings", "Kernels"], path: "Tests/TestSupport"),
        .testTarget(name: "SplitMixTests", dependencies: ["SplitMix"]),
        .testTarget(name: "RunSettingsTests", dependencies: ["RunSettings"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "RunSettings", "TestSupport"]),
        .testTarget(name: "MemoryBankTests", dependencies: ["MemoryBank", "Kernels", "TestSupport"]),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "Kernels", "TestSupport"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "SplitMix", "RunSettings", "TestSupport"]),
        .testTarget(name: "TransportTests", dependencies: [
            "Transport", "Wire", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication", "Kernels", "Wire", "RunSettings"]),
        .testTarget(name: "CoordinatorTests", dependencies: [
            "Coordinator", "Replication", "Wire", "Kernels", "Dataset", "MemoryBank", "RunSettings", "TestSupport",
            "Transport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "WorkerTests", dependencies: [
            "Worker", "Replication", "Wire", "Kernels", "RunSettings", "Transport", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CommandSupportTests", dependencies: [
            "CommandSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "Coordinator", "Transport", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "TestSupport"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: [
            "FuzzTargets", "Coordinator", "Kernels", "Replication", "RunSettings", "Wire", "Worker", "TestSupport",
        ]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Coordinator", "Dataset", "Kernels", "Replication", "RunSettings", "TestSupport", "Transport", "Wire", "Worker",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
