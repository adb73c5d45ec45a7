/// Socket settings shared by both endpoints. The defaults suit a cluster on one network.
public struct EndpointOptions: Equatable, Sendable {
    /// Messages queued per peer before sends report "would block" (ZMQ_SNDHWM).
    public var sendHighWaterMark: Int32 = 10_000
    /// Messages queued per peer on the receiving side (ZMQ_RCVHWM).
    public var receiveHighWaterMark: Int32 = 10_000
    /// First reconnection delay after a connection drops (ZMQ_RECONNECT_IVL).
    public var reconnectIntervalMilliseconds: Int32 = 100
    /// Upper bound of the doubling reconnection delay (ZMQ_RECONNECT_IVL_MAX).
    public var reconnectIntervalMaxMilliseconds: Int32 = 1_000
    /// ZMTP-level pings that let libzmq notice a dead TCP connection (ZMQ_HEARTBEAT_IVL / _TIMEOUT).
    /// Independent of the protocol's HEARTBEAT messages, which detect dead processes. 0 = off.
    public var connectionHeartbeatIntervalMilliseconds: Int32 = 1_000
    public var connectionHeartbeatTimeoutMilliseconds: Int32 = 3_000
    /// Faults to inject on the send side; `.none` costs nothing.
    public var faults: FaultSettings = .none
    /// CurveZMQ encryption and client authentication; nil = plain text, anyone may connect.
    /// A ROUTER takes `.server`, a DEALER `.client`.
    public var curve: CurveSecurity?

    public init() {}

    public init(faults: FaultSettings, curve: CurveSecurity? = nil) {
        self.faults = faults
        self.curve = curve
    }
}
