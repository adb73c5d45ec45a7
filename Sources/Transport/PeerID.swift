/// A ROUTER's name for one connected peer: the routing id frame libzmq puts before each message.
public struct PeerID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The peer of messages a DEALER receives: there is only one, the server.
    public static let server = PeerID([])

    public var description: String {
        bytes.isEmpty ? "server" : bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
