import ArgumentParser
import Foundation
import Kernels
import Logging
import Transport
import Worker

@main
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Computes InfoNCE gradients for a coordinator; may start before it and reconnects when it goes away.",
        discussion: "Everything about the model and the loss comes from the coordinator's WELCOME; a worker needs only its address.")

    @Option(help: "The coordinator's endpoint, tcp://HOST:PORT (also MBT_COORDINATOR).")
    var coordinator: String?
    @Option(help: "A name for logs (default: host name and process id).")
    var name: String?
    @Option(help: "Seconds of silence from the coordinator after which the worker says HELLO again.")
    var coordinatorTimeout = 3.0
    @Option(help: "Largest message accepted from the coordinator, in bytes.")
    var maxMessageBytes = 1 << 30
    @Option(help: "OpenBLAS threads for the gradient computation.")
    var blasThreads = 1
    @Option(help: "Fault injection on this worker's sends, e.g. drop=0.05,duplicate=0.05,corrupt=0.01,seed=7 (also MBT_FAULTS).")
    var faults: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error (got \(logLevel))")
        }
        guard blasThreads >= 1 else { throw ValidationError("--blas-threads must be at least 1") }
        guard coordinatorTimeout > 0.5 else { throw ValidationError("--coordinator-timeout must exceed 0.5 s") }
        guard coordinator ?? ProcessInfo.processInfo.environment["MBT_COORDINATOR"] != nil else {
            throw ValidationError("--coordinator tcp://HOST:PORT is required (or set MBT_COORDINATOR)")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        BLAS.setThreads(blasThreads)
        let endpoint = coordinator ?? ProcessInfo.processInfo.environment["MBT_COORDINATOR"]!
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        var logger = Logger(label: "worker \(workerName)")
        logger.logLevel = level
        var faultSettings: FaultSettings?
        if let spec = faults ?? ProcessInfo.processInfo.environment["MBT_FAULTS"] {
            faultSettings = try FaultSettings(parsing: spec)
        }
        let settings = WorkerSettings(coordinator: endpoint, name: workerName, maxMessageBytes: maxMessageBytes,
                                      timings: .init(coordinatorTimeout: coordinatorTimeout), faults: faultSettings)
        let report = try WorkerClient(settings: settings, logger: logger).run()
        logger.info("computed \(report.tasksComputed) minibatches, answered \(report.tasksAnsweredFromCache) from cache")
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
