import Foundation
import Logging

/// State shard processes started on this machine by the coordinator (`--spawn-shards N`): `coordinator shard` bound
/// to a free loopback port each, which it announces on its first line of output.
public final class LocalShards {
    private var processes: [Process] = []
    /// Where each shard listens, in shard order.
    public private(set) var addresses: [String] = []
    private let logger: Logger

    /// Starts `count` shards of `executable` (the coordinator's own), exiting with this process, keeping their
    /// checkpoints in `stateDirectory`, and waits up to `timeout` seconds for each to say where it listens.
    public init(count: Int, stateDirectory: String, executable: String, logLevel: String, timeout: Double = 30,
                logger: Logger) throws {
        self.logger = logger
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TrainerError("cannot start local shards: \(executable) is not an executable file")
        }
        for _ in 0 ..< count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["shard", "--bind", "tcp://127.0.0.1:0", "--announce", "--exit-with-parent",
                                 "--state-dir", stateDirectory, "--log-level", logLevel]
            let output = Pipe()
            process.standardOutput = output
            do {
                try process.run()
            } catch {
                terminate()
                throw TrainerError("cannot start \(executable) shard: \(error.localizedDescription)")
            }
            processes.append(process)
            guard let address = Self.announcement(output.fileHandleForReading, timeout: timeout) else {
                terminate()
                throw TrainerError("a local shard (pid \(process.processIdentifier)) did not say where it listens within \(Int(timeout)) s")
            }
            addresses.append(address)
        }
        logger.info("started \(count) local state shard(s): pids \(processes.map { $0.processIdentifier }), at \(addresses.joined(separator: ", "))")
    }

    /// The address of the first line `shard at ADDRESS` the shard writes, or nil when none comes in time.
    private static func announcement(_ handle: FileHandle, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }   // end of output: the shard exited
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n", omittingEmptySubsequences: false).first, text.contains("\n") {
                let prefix = "shard at "
                return line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : nil
            }
        }
        return nil
    }

    public var pids: [Int32] { processes.map(\.processIdentifier) }

    /// Throws when a shard has exited: its rows are gone, the run cannot go on.
    public func check() throws {
        if let gone = processes.firstIndex(where: { !$0.isRunning }) {
            throw ShardFailure(shard: gone, "state shard \(gone + 1) (pid \(processes[gone].processIdentifier)) exited with status \(processes[gone].terminationStatus): its rows are lost")
        }
    }

    public func terminate() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }
}
