import FlyingFox
import FlyingSocks
import Foundation

/// The HTTP endpoint that Prometheus scrapes: `GET /metrics` answers the text exposition format that `body`
/// renders at each request; every other path is 404. Served by FlyingFox on Swift's concurrency pool, beside the
/// training loop (which never waits for it).
public final class MetricsEndpoint: @unchecked Sendable {
    private let server: HTTPServer
    private let task: Task<Void, any Error>
    /// The address actually bound, `HOST:PORT` (the port chosen by the system when 0 was asked).
    public let boundAddress: String

    /// Parses `HOST:PORT` (an IPv4 address, `localhost`, `*` or `0.0.0.0` for every interface, or `[IPv6]`).
    public static func parse(_ address: String) throws -> (host: String, port: UInt16) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw TelemetryError("--metrics-address \(address): expected HOST:PORT, e.g. 0.0.0.0:9464 or 127.0.0.1:0")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        switch host {
        case "", "*": host = "0.0.0.0"
        case "localhost": host = "127.0.0.1"
        default: break
        }
        return (host, port)
    }

    /// Binds `address` and starts serving; returns once the socket listens. `body` is called for each scrape, on a
    /// thread of the concurrency pool.
    public init(address: String, body: @escaping @Sendable () -> [UInt8]) throws {
        let (host, port) = try Self.parse(address)
        let server: HTTPServer
        do {
            server = host.contains(":")
                ? HTTPServer(address: try sockaddr_in6.inet6(ip6: host, port: port), logger: .disabled)
                : HTTPServer(address: try sockaddr_in.inet(ip4: host, port: port), logger: .disabled)
        } catch {
            throw TelemetryError("--metrics-address \(address): \(host) is not an IP address (\(error))")
        }
        self.server = server
        // Wait for the socket, or for the error that kept it from listening (whichever comes first).
        let outcome = Outcome()
        let ready = DispatchSemaphore(value: 0)
        task = Task {
            await server.appendRoute("GET /metrics") { _ in
                HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                             body: Data(body()))
            }
            do {
                try await server.run()
            } catch {
                if outcome.set(nil, error) { ready.signal() }
                throw error
            }
        }
        Task {
            do {
                try await server.waitUntilListening(timeout: 10)
                if outcome.set(await server.listeningAddress, nil) { ready.signal() }
            } catch {
                if outcome.set(nil, error) { ready.signal() }
            }
        }
        ready.wait()
        guard case let .ip4(ip, port)? = outcome.address ?? nil else {
            if case let .ip6(ip, port)? = outcome.address ?? nil {
                boundAddress = "[\(ip)]:\(port)"
                return
            }
            task.cancel()
            throw TelemetryError("cannot serve metrics on \(address): \(outcome.error.map { "\($0)" } ?? "the server did not start")")
        }
        boundAddress = "\(ip):\(port)"
    }

    /// Stops listening.
    public func stop() {
        let server = self.server
        let done = DispatchSemaphore(value: 0)
        Task {
            await server.stop()
            done.signal()
        }
        done.wait()
        task.cancel()
    }

    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var address: Socket.Address??
        private(set) var error: (any Error)?
        private var settled = false
        /// Records the first outcome; true when this was it.
        func set(_ address: Socket.Address?, _ error: (any Error)?) -> Bool {
            lock.withLock {
                guard !settled else { return false }
                settled = true
                self.address = address
                self.error = error
                return true
            }
        }
    }
}

/// Why metrics could not be served: one sentence for the user.
public struct TelemetryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
