import Logging

/// Reads the socket-monitor events of an endpoint's socket and logs the ones a person needs: refused handshakes
/// (a plain-text client meeting a CURVE server, a wrong server key, a refused client key) and dropped connections
/// (a peer gone, or one that broke the protocol, e.g. with a frame over the size limit). Repeats are throttled.
///
/// One owner: the endpoint whose socket it watches.
final class ConnectionMonitor {
    enum Role {
        /// A ROUTER bound at this endpoint.
        case server(String)
        /// A DEALER connected to this endpoint.
        case client(String)
    }

    private static let endpoint = "inproc://connection-monitor"

    let socket: ZMQSocket
    private let role: Role
    private let maxMessageBytes: Int
    private let logger: Logger
    private var throttle = LogThrottle(seconds: 10)
    private(set) var counters = ConnectionCounters()

    /// Starts monitoring `watched` (before it binds or connects, so that no event is missed).
    init(context: ZMQContext, watching watched: ZMQSocket, role: Role, maxMessageBytes: Int, logger: Logger) throws(ZMQError) {
        self.role = role
        self.maxMessageBytes = maxMessageBytes
        self.logger = logger
        try watched.monitor(Self.endpoint, events: [.accepted, .connected, .disconnected, .handshakeSucceeded,
                                                    .handshakeFailedNoDetail, .handshakeFailedProtocol,
                                                    .handshakeFailedAuth])
        socket = try ZMQSocket(context: context, kind: .pair)
        do {
            try socket.connect(Self.endpoint)
        } catch {
            socket.close()
            throw error
        }
    }

    func close() { socket.close() }

    /// Handles every event already waiting.
    func serviceWaiting() throws(ZMQError) {
        while let (frames, _) = try socket.receive(keep: 2) {
            guard let (event, value) = Self.parse(frames) else { continue }
            handle(event, value: value, address: frames.count > 1 ? String(decoding: frames[1], as: UTF8.self) : "?")
        }
    }

    /// A monitor message's first frame: u16 event, u32 value, in the machine's byte order (little-endian here).
    static func parse(_ frames: [[UInt8]]) -> (SocketEvent, UInt32)? {
        guard let first = frames.first, first.count == 6 else { return nil }
        let code = UInt16(first[0]) | UInt16(first[1]) << 8
        let value = UInt32(first[2]) | UInt32(first[3]) << 8 | UInt32(first[4]) << 16 | UInt32(first[5]) << 24
        return SocketEvent(code: code).map { ($0, value) }
    }

    private func handle(_ event: SocketEvent, value: UInt32, address: String) {
        switch event {
        case .accepted, .connected:
            return
        case .handshakeSucceeded:
            counters.handshakesSucceeded += 1
            logger.debug("handshake succeeded on \(address)")
            return
        case .disconnected:
            counters.disconnections += 1
        case .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth:
            counters.handshakeFailures += 1
        }
        let (show, suppressed) = throttle.allow("\(event)", now: MonotonicClock.now())
        guard show else { return }
        let more = suppressed > 0 ? " (\(suppressed) more like it not logged)" : ""
        switch (role, event) {
        case (.server, .handshakeFailedProtocol):
            logger.warning("refused a connection on \(address): \(SocketEvent.protocolErrorText(value))\(more)")
        case (.server, .handshakeFailedNoDetail):
            logger.warning("refused a connection on \(address): its handshake failed (a plain-text client, one with other security settings, or one that gave up; errno \(value))\(more)")
        case (.server, .handshakeFailedAuth):
            // The ZAP handler has logged the key and address.
            logger.debug("handshake refused by ZAP with status \(value) on \(address)")
        case (.server, _):
            logger.info("a connection on \(address) closed (as when a worker exits; otherwise the peer was not a ZMTP peer (plain text) or broke the protocol, e.g. with a frame over \(maxMessageBytes) bytes)\(more)")
        case (.client(let coordinator), .handshakeFailedAuth):
            logger.error("the coordinator at \(coordinator) refused this worker (ZAP status \(value)): is this worker's public key in its --authorized-keys?\(more)")
        case (.client(let coordinator), .handshakeFailedProtocol):
            logger.error("handshake with \(coordinator) failed: \(SocketEvent.protocolErrorText(value)); check --coordinator-public-key and that both sides use CURVE\(more)")
        case (.client(let coordinator), .handshakeFailedNoDetail):
            logger.warning("handshake with \(coordinator) failed (errno \(value)); does it use the same security settings?\(more)")
        case (.client(let coordinator), _):
            logger.info("connection to \(coordinator) lost; reconnecting\(more)")
        }
    }
}

/// Connection events seen by an endpoint's monitor.
public struct ConnectionCounters: Equatable, Sendable {
    public var handshakesSucceeded = 0
    public var handshakeFailures = 0
    public var disconnections = 0

    public init() {}
}
