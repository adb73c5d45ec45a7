import ArgumentParser
import CommandSupport
import Coordinator
import Foundation
import Logging
import Transport

/// `coordinator shard`: holds a share of a run's parameters for a coordinator started with `--shard`.
struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract: "Holds a share of a run's parameters (users, items, bank, optimizer state) for a coordinator started with --shard ADDRESS.",
        discussion: """
            A coordinator given --shard ADDRESS once per shard (at least two) keeps no table itself: shard k holds \
            the rows whose id modulo the shard count is k, applies their gradients and moves their bank rows. \
            A shard serves one run; restart it for the next. With --state-dir it writes its share of each \
            checkpoint there (shard-K-of-S-checkpoint-STEP.mbt) and, restarted after a crash, restores it when the \
            coordinator resumes the run (`coordinator train --resume`).
            """)

    @Option(help: "Where to listen, tcp://HOST:PORT (port 0: any free port; also MBT_BIND).")
    var bind = Environment.value("MBT_BIND") ?? "tcp://0.0.0.0:5600"
    @Option(help: "Directory for this shard's checkpoints (also MBT_STATE_DIR); without it the run cannot be resumed.")
    var stateDir = Environment.value("MBT_STATE_DIR")
    @Option(help: "Fault injection on this shard's sends, e.g. drop=0.05,duplicate=0.05,corrupt=0.01,seed=7 (also MBT_FAULTS).")
    var faults = Environment.value(FaultSettings.environmentVariable)
    @Option(help: "CurveZMQ: this shard's secret key file (from `coordinator keygen`); turns on encryption and admits only --authorized-keys (also MBT_CURVE_SECRET_KEY).")
    var curveSecretKey = Environment.value("MBT_CURVE_SECRET_KEY")
    @Option(help: "CurveZMQ: the coordinator's public key (its NAME.pub), or a file or directory of keys (also MBT_AUTHORIZED_KEYS).")
    var authorizedKeys = Environment.value("MBT_AUTHORIZED_KEYS")
    @Flag(help: "Print `shard at ADDRESS` (the address actually bound) as the first line of output.")
    var announce = false
    @Flag(help: "Exit when the process that started this shard exits (set by `coordinator train --spawn-shards`).")
    var exitWithParent = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error (also MBT_LOG_LEVEL).")
    var logLevel = Environment.value("MBT_LOG_LEVEL") ?? "info"

    func validate() throws {
        if (curveSecretKey == nil) != (authorizedKeys == nil) {
            throw ValidationError("CurveZMQ needs both --curve-secret-key and --authorized-keys (or MBT_CURVE_SECRET_KEY and MBT_AUTHORIZED_KEYS)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error (got \(logLevel))")
        }
    }

    func run() throws {
        ProcessLogging.bootstrap(level: Logger.Level(rawValue: logLevel)!)
        let logger = Logger(label: "shard")
        if exitWithParent { ParentWatch.exitWhenOrphaned("shard", logger: logger) }
        let signals = StopSignals(logger: logger, firstSignalMeans: "leaving")
        if let stateDir {
            try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        } else {
            logger.warning("no --state-dir: this shard keeps no checkpoints, and a run it serves cannot be resumed")
        }
        var curve: CurveSecurity?
        if let secretPath = curveSecretKey, let authorizedPath = authorizedKeys {
            curve = .server(CurveServer(keys: try CurveKeyFile.readKeyPair(secretKeyFile: secretPath),
                                        authorizedClients: try CurveKeyFile.readAuthorizedKeys(authorizedPath)))
            if let warning = CurveKeyFile.permissionWarning(secretKeyFile: secretPath) { logger.warning("\(warning)") }
        }
        let options = EndpointOptions(faults: try faults.map { try FaultSettings(parsing: $0) } ?? .none, curve: curve)
        let server = try ShardServer(bind: bind, maxMessageBytes: 1 << 28, options: options, logger: logger,
                                     service: ShardService(stateDirectory: stateDir))
        if announce {
            FileHandle.standardOutput.write(Data("shard at \(server.boundEndpoint)\n".utf8))
        }
        try server.run(stopRequested: { signals.reason != nil })
        logger.info("answered \(server.answered) requests, refused \(server.refused)")
    }
}
