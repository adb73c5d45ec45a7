import Foundation

/// Starts the built `coordinator` and `worker` executables for integration tests and collects their output.
public enum ProcessHarness {
    /// The package root, found from this file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where the executables are: MBT_BIN_DIR, else the package's debug build folder.
    public static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["MBT_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    public static func executable(_ name: String) -> String { binDirectory.appendingPathComponent(name).path }

    /// `../shared` beside the package.
    public static var shared: URL { packageRoot.deletingLastPathComponent().appendingPathComponent("shared") }

    public final class Running: @unchecked Sendable {
        public let process: Process
        public let logURL: URL
        init(process: Process, logURL: URL) {
            self.process = process
            self.logURL = logURL
        }
        public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
        public var pid: Int32 { process.processIdentifier }

        /// Waits for exit up to `seconds`; kills the process and returns nil on timeout.
        public func wait(seconds: Double) -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }
    }

    /// Starts an executable with stdout and stderr going to a log file in `directory`.
    /// `absolute`: `name` is a path to any program rather than one of the project's executables.
    public static func start(_ name: String, _ arguments: [String], logName: String, in directory: URL,
                             environment: [String: String] = [:], absolute: Bool = false) throws -> Running {
        let logURL = directory.appendingPathComponent(logName + ".log")
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else {
            throw HarnessError(description: "cannot create the log file \(logURL.path)")
        }
        let log = try FileHandle(forWritingTo: logURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: absolute ? name : executable(name))
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        try process.run()
        return Running(process: process, logURL: logURL)
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The lines of a JSON-lines file, decoded.
    public static func jsonLines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// Reads a float32 `.npy` matrix written by the coordinator: (shape, values).
    public static func readNpy(_ url: URL) throws -> (rows: Int, cols: Int, values: [Float]) {
        let data = try Data(contentsOf: url)
        precondition(data.count > 10 && data[0] == 0x93, "\(url.path) is not an .npy file")
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10 ..< 10 + headerLength], as: UTF8.self)
        let shape = header.split(separator: "(")[1].split(separator: ")")[0].split(separator: ",")
            .map { Int($0.trimmingCharacters(in: .whitespaces))! }
        let body = data[(10 + headerLength)...]
        let values = body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (shape[0], shape[1], values)
    }
}

/// A process of a test could not be set up: what went wrong, and where.
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
}
