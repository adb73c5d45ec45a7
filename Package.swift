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
    ],
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
        // Dense math, losses, optimizers, seeded randomness, embedding tables.
        .target(name: "Kernels", dependencies: ["CBLAS", "CPrefetch", "CFastExp"]),
        // The versioned item memory bank and its momentum update.
        .target(name: "MemoryBank", dependencies: ["Kernels"]),
        // Interaction data: readers, synthetic generator, epoch plans, ranking metrics.
        .target(name: "Dataset", dependencies: ["Kernels"]),
        // CRC-32C with the SSE4.2 crc32 instruction, chosen at run time (no global -msse4.2); imported only by Wire.
        .target(name: "CCRC32C"),
        // Everything that crosses the network: message types and their byte encoding.
        .target(name: "Wire", dependencies: ["CCRC32C"]),
        // ZeroMQ sockets and the fault-injection layer.
        .target(name: "Transport", dependencies: [
            "CZeroMQ", "Wire", .product(name: "Logging", package: "swift-log"),
        ]),
        // How state is copied to workers: snapshots, deltas, replicas, spec conversions.
        .target(name: "Replication", dependencies: ["Kernels", "MemoryBank", "Wire"]),
        .target(name: "Coordinator", dependencies: [
            "Kernels", "MemoryBank", "Dataset", "Wire", "Transport", "Replication",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Worker", dependencies: [
            "Kernels", "MemoryBank", "Wire", "Transport", "Replication",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // What both executables share: flags from MBT_* environment variables, status files for health checks.
        .target(name: "CommandSupport", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "CoordinatorCommand", dependencies: [
            "Coordinator", "Dataset", "Kernels", "CommandSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "WorkerCommand", dependencies: [
            "Worker", "CommandSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Speed benchmarks of the training step and its GEMMs (bench/speed.sh runs them against PyTorch).
        .executableTarget(name: "Bench", dependencies: [
            "Kernels", "MemoryBank", "Replication", "Coordinator", "Worker", "Dataset", "Wire", "CommandSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Every decoder and both protocol state machines behind one entry point per fuzz target: run by libFuzzer
        // (Fuzz/, scripts/fuzz.sh) and, over the committed corpus, by FuzzTargetsTests.
        .target(name: "FuzzTargets", dependencies: [
            "Wire", "Transport", "Replication", "Coordinator", "Worker", "Kernels",
        ]),

        .target(name: "TestSupport", dependencies: ["Kernels", "Wire"], path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "MemoryBankTests", dependencies: ["MemoryBank", "Kernels", "TestSupport"]),
        .testTarget(name: "DatasetTests", dependencies: ["Dataset", "Kernels", "TestSupport"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "Wire", "TestSupport"]),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication", "Kernels", "MemoryBank", "Wire", "TestSupport"]),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "Replication", "Wire", "Kernels", "Dataset", "MemoryBank", "TestSupport"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "Replication", "Wire", "Kernels", "MemoryBank", "TestSupport"]),
        .testTarget(name: "CommandSupportTests", dependencies: ["CommandSupport"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "TestSupport"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "Coordinator", "Kernels", "Wire", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Coordinator", "Worker", "Dataset", "Kernels", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
