import Logging
import Wire

/// A worker's socket: a DEALER connected to the coordinator. It may be created before the coordinator exists;
/// libzmq connects and reconnects by itself.
///
/// Messages are only queued on a live connection (ZMQ_IMMEDIATE): while there is none, `send` returns false and
/// the protocol layer retries (HELLO with back-off), so nothing stale is delivered after a reconnection.
/// The routing id is random per endpoint, so a reconnection keeps the coordinator's PeerID for this worker.
/// With `options.curve = .client(…)`, it speaks CurveZMQ to a server whose public key it knows; a refused key or
/// a failed handshake is logged while `receive` waits.
///
/// One owner, one thread at a time: the socket is not thread-safe.
public final class DealerEndpoint {
    private let core: EndpointCore
    /// The address connected to.
    public let endpoint: String
    /// This socket's routing id, which the coordinator sees as the PeerID of its messages.
    public let routingID: PeerID

    public init(connect endpoint: String, maxMessageBytes: Int, logger: Logger, options: EndpointOptions = EndpointOptions()) throws(TransportError) {
        try EndpointAddress.validate(endpoint, binding: false)
        self.endpoint = endpoint
        // Routing ids starting with 0 are reserved for libzmq's own.
        var generator = SystemRandomNumberGenerator()
        let id = [UInt8.random(in: 1...255, using: &generator)] + (0..<15).map { _ in UInt8.random(in: 0...255, using: &generator) }
        routingID = PeerID(id)
        core = try EndpointCore(kind: .dealer, role: .client(endpoint), maxMessageBytes: maxMessageBytes, options: options,
                                  logger: logger) { (socket) throws(ZMQError) in
            try socket.set(.routingID, id)
            try socket.set(.immediate, 1)
            try socket.connect(endpoint)
        }
        logger.info("connecting to \(endpoint)", metadata: ["routingID": "\(routingID)"])
    }

    deinit { core.close() }

    /// Sends one message to the coordinator. True when libzmq took it; false (logged) when no connection is ready
    /// or the queue is full.
    /// With fault injection on, the answer is always true (see `FaultInjector`).
    @discardableResult
    public func send(_ envelope: Envelope) throws(TransportError) -> Bool {
        try core.send(envelope, to: nil)
    }

    /// The next message within `timeoutMilliseconds` (0 = only what is already here, -1 = wait forever), or nil.
    /// Its peer is `PeerID.server`.
    public func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received? {
        try core.receive(timeoutMilliseconds: timeoutMilliseconds, routed: false)
    }

    /// Faults applied so far (all zero without fault injection).
    public var faultCounters: FaultCounters { core.faultCounters }

    /// Handshakes, refusals and dropped connections seen on this endpoint's socket.
    public var connectionCounters: ConnectionCounters { core.connectionCounters }

    /// Messages and header + payload bytes sent and received so far (readable after `close`).
    public var traffic: TrafficCounters { core.traffic }

    /// Closes the socket and its context. Idempotent; using the endpoint afterwards throws `.closed`.
    public func close() { core.close() }
}
