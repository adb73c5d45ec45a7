import Foundation
import Logging
import RunSettings

/// Worker processes started on this machine by the coordinator (`--spawn-workers N`).
public final class LocalWorkers {
    private var processes: [Process] = []
    private let logger: Logger

    /// Starts `count` copies of `executable` connected to `endpoint`, each with its own name, exiting with this
    /// process, at `logLevel` with the OpenBLAS build `blas` (nil: the worker's defaults).
    public init(count: Int, executable: String, endpoint: String, logLevel: String? = nil, blas: String? = nil,
                environment: [String: String] = [:], logger: Logger) throws {
        self.logger = logger
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TrainerError("cannot start local workers: \(executable) is not an executable file (build the worker, or pass --worker-executable)")
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        for i in 0 ..< count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = WorkerLaunch(coordinator: endpoint, name: "local-\(i + 1)", logLevel: logLevel,
                                             blas: blas).arguments
            process.environment = env
            do {
                try process.run()
            } catch {
                terminate()
                throw TrainerError("cannot start \(executable): \(error.localizedDescription)")
            }
            processes.append(process)
        }
        logger.info("started \(count) local worker process(es): pids \(processes.map { $0.processIdentifier })")
    }

    public var pids: [Int32] { processes.map(\.processIdentifier) }

    /// Throws when every local worker has exited: training could not go on.
    public func check() throws {
        guard !processes.isEmpty, processes.allSatisfy({ !$0.isRunning }) else { return }
        let codes = processes.map { String($0.terminationStatus) }.joined(separator: ", ")
        throw TrainerError("every local worker exited (exit statuses \(codes)); see their messages above")
    }

    /// Waits up to `seconds` for the workers to exit on their own, then stops the rest.
    public func finish(within seconds: Double = 5) {
        let deadline = Date().addingTimeInterval(seconds)
        while processes.contains(where: \.isRunning), Date() < deadline { usleep(20_000) }
        terminate()
    }

    public func terminate() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }
}
