import Wire

/// What the coordinator's shell needs of its socket: `RouterEndpoint` over ZeroMQ, or an in-memory double in tests.
/// One owner, one thread at a time.
public protocol RouterTransport: AnyObject {
    /// The address actually bound.
    var boundEndpoint: String { get }
    /// Sends one message to `peer`; false when it could not be taken (peer gone, queue full).
    @discardableResult
    func send(_ envelope: Envelope, to peer: PeerID) throws(TransportError) -> Bool
    /// The next message within `timeoutMilliseconds` (0 = only what is already here, -1 = wait forever), or nil.
    func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received?
    /// Messages and header + payload bytes moved so far (readable after `close`).
    var traffic: TrafficCounters { get }
    /// Idempotent; using the transport afterwards throws `.closed`.
    func close()
}

/// What the worker's shell needs of its socket: `DealerEndpoint` over ZeroMQ, or an in-memory double in tests.
/// One owner, one thread at a time.
public protocol DealerTransport: AnyObject {
    /// Sends one message to the coordinator; false when no connection could take it.
    @discardableResult
    func send(_ envelope: Envelope) throws(TransportError) -> Bool
    /// The next message within `timeoutMilliseconds`, or nil. Its peer is `PeerID.server`.
    func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received?
    /// Messages and header + payload bytes moved so far (readable after `close`).
    var traffic: TrafficCounters { get }
    /// Idempotent; using the transport afterwards throws `.closed`.
    func close()
}

extension RouterEndpoint: RouterTransport {}
extension DealerEndpoint: DealerTransport {}
