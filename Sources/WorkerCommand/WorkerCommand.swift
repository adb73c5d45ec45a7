import ArgumentParser
import CommandSupport
import Foundation
import Kernels
import Logging
import RunSettings
import Telemetry
import Transport
import Worker

@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Computes InfoNCE gradients for a coordinator; may start before it and reconnects when it goes away.",
        discussion: """
            Everything about the model and the loss comes from the coordinator's WELCOME; a worker needs only its \
            address. Every flag may also be set as an environment variable MBT_<FLAG> (MBT_COORDINATOR=tcp://… for \
            --coordinator tcp://…); a flag on the command line wins.
            """)

    /// Puts the MBT_* environment variables in front of the flags (a flag on the command line wins).
    static func main() {
        ProcessMemory.keepFreedBlocks()
        var arguments = Array(CommandLine.arguments.dropFirst())
        if !arguments.contains(where: { ["-h", "--help", "--experimental-dump-help"].contains($0) }) {
            let (fromEnvironment, problems) = EnvironmentArguments.arguments(
                for: WorkerCommand.self, environment: ProcessInfo.processInfo.environment)
            if !problems.isEmpty { exit(withError: ValidationError(problems.joined(separator: "\n"))) }
            arguments = fromEnvironment + arguments
        }
        main(arguments)
    }

    @Option(name: .customLong(WorkerLaunch.Flag.coordinator), help: "The coordinator's endpoint, tcp://HOST:PORT (also MBT_COORDINATOR).")
    var coordinator: String?
    @Option(name: .customLong(WorkerLaunch.Flag.name), help: "A name for logs (default: host name and process id).")
    var name: String?
    @Option(help: "Seconds of silence from the coordinator after which the worker says HELLO again.")
    var coordinatorTimeout = 3.0
    @Option(help: "Exit with an error after this many seconds without a coordinator (0: keep trying for ever).")
    var giveUpAfter = 0.0
    @Flag(name: .customLong(WorkerLaunch.Flag.exitWithParent), help: "Exit when the process that started this worker exits (set by `coordinator --spawn-workers`, so that a killed coordinator leaves no workers behind).")
    var exitWithParent = false
    @Option(help: "Largest message accepted from the coordinator, in bytes.")
    var maxMessageBytes = 1 << 30
    @Option(help: "Memory this worker may use for the run's spec (negative sampler, seen items) and one task, in MiB (0: 80 % of the machine's memory); a coordinator asking for more is refused with a clear error (also MBT_MAX_MEMORY).")
    var maxMemory = 0
    @Option(help: "OpenBLAS threads for the gradient computation.")
    var blasThreads = 1
    @Option(name: .customLong(WorkerLaunch.Flag.blas), help: "The OpenBLAS build: \(BLAS.Choice.help).")
    var blas = "auto"
    @Option(help: "Fault injection on this worker's sends, e.g. drop=0.05,duplicate=0.05,corrupt=0.01,seed=7 (also MBT_FAULTS).")
    var faults: String?
    @Option(help: "CurveZMQ: this worker's secret key file (from `coordinator keygen`); needs --coordinator-public-key (also MBT_CURVE_SECRET_KEY).")
    var curveSecretKey: String?
    @Option(help: "CurveZMQ: the coordinator's public key file, its NAME.pub (also MBT_COORDINATOR_PUBLIC_KEY).")
    var coordinatorPublicKey: String?
    @Option(help: "Rewrite this file every second while the worker process runs, for `coordinator healthcheck` (also MBT_STATUS_FILE).")
    var statusFile: String?
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 0.0.0.0:9464 (port 0 picks a free port; also MBT_METRICS_ADDRESS; default: none).")
    var metricsAddress: String?
    @Option(name: .customLong(WorkerLaunch.Flag.logLevel), help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error (got \(logLevel))")
        }
        guard blasThreads >= 1 else { throw ValidationError("--blas-threads must be at least 1") }
        guard coordinatorTimeout > 0.5 else { throw ValidationError("--coordinator-timeout must exceed 0.5 s") }
        // (`main` has put the MBT_* variables among the flags already.)
        guard coordinator != nil else {
            throw ValidationError("--coordinator tcp://HOST:PORT is required (or set MBT_COORDINATOR)")
        }
        if (curveSecretKey == nil) != (coordinatorPublicKey == nil) {
            throw ValidationError("CurveZMQ needs both --curve-secret-key and --coordinator-public-key (or MBT_CURVE_SECRET_KEY and MBT_COORDINATOR_PUBLIC_KEY)")
        }
    }

    /// The CurveZMQ settings from the key files, nil when CURVE is off.
    func curveClient(logger: Logger) throws -> CurveClient? {
        guard let secretPath = curveSecretKey, let serverPath = coordinatorPublicKey else { return nil }
        let client = CurveClient(keys: try CurveKeyFile.readKeyPair(secretKeyFile: secretPath),
                                 serverPublicKey: try CurveKeyFile.readPublicKey(serverPath))
        if let warning = CurveKeyFile.permissionWarning(secretKeyFile: secretPath) { logger.warning("\(warning)") }
        return client
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        ProcessLogging.bootstrap(level: level)
        try BLAS.select(BLAS.Choice(blas))
        BLAS.setThreads(blasThreads)
        if let path = statusFile {
            Thread.detachNewThread {
                let status = StatusFile(path: path)
                while true {
                    status.write("running")
                    sleep(1)
                }
            }
        }
        let endpoint = coordinator!
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        var logger = Logger(label: "worker \(workerName)")
        logger.logLevel = level
        logger.info("BLAS: \(BLAS.summary)")
        var faultSettings: FaultSettings?
        if let spec = faults {
            faultSettings = try FaultSettings(parsing: spec)
        }
        var settings = WorkerSettings(coordinator: endpoint, name: workerName, maxMessageBytes: maxMessageBytes,
                                      timings: .init(coordinatorTimeout: coordinatorTimeout), faults: faultSettings)
        settings.curve = try curveClient(logger: logger)
        settings.giveUpAfter = giveUpAfter > 0 ? giveUpAfter : nil
        guard maxMemory >= 0 else { throw ValidationError("--max-memory must be 0 (automatic) or a number of MiB, got \(maxMemory)") }
        settings.limits.memoryBytes = maxMemory > 0
            ? maxMemory << 20 : Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
        if exitWithParent { ParentWatch.exitWhenOrphaned("worker", logger: logger) }
        let signals = StopSignals(logger: logger, firstSignalMeans: "finishing the minibatches in hand, then leaving")
        let client = try WorkerClient(settings: settings, logger: logger)
        var metricsEndpoint: MetricsEndpoint?
        if let metricsAddress {
            let metrics = PrometheusWorkerMetrics()
            metricsEndpoint = try metrics.export.serve(on: metricsAddress)
            client.metrics = metrics
            logger.info("metrics at http://\(metricsEndpoint!.boundAddress)/metrics")
        }
        defer { metricsEndpoint?.stop() }
        let report = try client.run(stopRequested: { signals.reason })
        logger.info("computed \(report.tasksComputed) minibatches, answered \(report.tasksAnsweredFromCache) from cache")
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
