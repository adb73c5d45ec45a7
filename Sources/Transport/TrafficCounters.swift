/// Messages and bytes an endpoint moved through its socket: the protocol's two frames (32-byte header + payload)
/// of every message libzmq took or delivered. Not counted: a ROUTER's routing-id frame, ZMTP framing, TCP and
/// CURVE overhead, and messages that were not taken (`send` returned false) or that fault injection dropped or
/// still holds. A malformed message with extra frames counts only the frames kept (at most two).
public struct TrafficCounters: Equatable, Sendable {
    public var messagesSent = 0
    public var bytesSent = 0
    public var messagesReceived = 0
    public var bytesReceived = 0

    public init() {}
}
