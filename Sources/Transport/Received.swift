import Wire

/// What one `receive` call got.
public enum Received: Equatable, Sendable {
    /// A well-formed message from `PeerID` (`PeerID.server` on a dealer).
    case message(PeerID, Envelope)
    /// Frames that are not a message (wrong frame count, bad header, bad checksum, bad payload). Logged by the
    /// endpoint; the protocol layer may answer with REJECT or ignore it.
    case malformed(PeerID, WireError)
}
