import Logging
import Wire

/// The coordinator's socket: a ROUTER bound to an address, talking to many workers, each known by the routing id
/// libzmq reports with its messages.
///
/// - Sending never blocks: to a peer that is gone (ROUTER_MANDATORY → EHOSTUNREACH) or whose queue is full, `send`
///   returns false and logs.
/// - A worker that reconnects with the same routing id takes its old place (ROUTER_HANDOVER).
/// - A peer that sends a frame larger than `maxMessageBytes` is disconnected by libzmq (ZMQ_MAXMSGSIZE).
/// - With `options.curve = .server(…)`, traffic is encrypted (CurveZMQ) and only clients whose public key is listed
///   are admitted, by a ZAP handler in this endpoint's context that `receive` services; plain-text clients fail the
///   handshake. Refusals and dropped connections are logged (a socket monitor, also serviced by `receive`).
///
/// One owner, one thread at a time: the socket is not thread-safe.
public final class RouterEndpoint {
    private let core: EndpointCore
    /// The address actually bound, e.g. tcp://127.0.0.1:54321 when asked for port 0.
    public let boundEndpoint: String

    public init(bind endpoint: String, maxMessageBytes: Int, logger: Logger, options: EndpointOptions = EndpointOptions()) throws(TransportError) {
        try EndpointAddress.validate(endpoint, binding: true)
        core = try EndpointCore(kind: .router, role: .server(endpoint), maxMessageBytes: maxMessageBytes, options: options,
                                  logger: logger) { (socket) throws(ZMQError) in
            try socket.set(.routerMandatory, 1)
            try socket.set(.routerHandover, 1)
            try socket.bind(endpoint)
        }
        do {
            let core = self.core
            boundEndpoint = try zmq { () throws(ZMQError) in try core.socket.lastEndpoint() }
        } catch {
            core.close()
            throw error
        }
        logger.info("listening on \(boundEndpoint)")
    }

    deinit { core.close() }

    /// Sends one message to `peer`. True when libzmq took it; false (logged) when the peer is not connected or its
    /// queue is full. Throws only for errors that are not about the peer.
    /// With fault injection on, the answer is always true (see `FaultInjector`).
    @discardableResult
    public func send(_ envelope: Envelope, to peer: PeerID) throws(TransportError) -> Bool {
        try core.send(envelope, to: peer)
    }

    /// The next message within `timeoutMilliseconds` (0 = only what is already here, -1 = wait forever), or nil.
    public func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received? {
        try core.receive(timeoutMilliseconds: timeoutMilliseconds, routed: true)
    }

    /// Faults applied so far (all zero without fault injection).
    public var faultCounters: FaultCounters { core.faultCounters }

    /// Handshakes, refusals and dropped connections seen on this endpoint's socket.
    public var connectionCounters: ConnectionCounters { core.connectionCounters }

    /// Messages and header + payload bytes sent and received so far (readable after `close`).
    public var traffic: TrafficCounters { core.traffic }

    /// CURVE clients admitted and refused by the ZAP handler (all zero without CURVE).
    public var zapCounters: ZAPCounters { core.zapCounters }

    /// Closes the socket and its context. Idempotent; using the endpoint afterwards throws `.closed`.
    public func close() { core.close() }
}
