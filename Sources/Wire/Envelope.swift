/// A message with the header fields its sender chooses: who sent it and the sender's sequence number.
public struct Envelope: Equatable, Sendable {
    /// Worker id of the sender; 0 = the coordinator, or a worker not yet admitted.
    public var sender: UInt32
    /// Per sender and per process incarnation, increasing by one per message sent.
    public var sequence: UInt64
    public var message: Message

    public init(sender: UInt32, sequence: UInt64, message: Message) {
        self.sender = sender
        self.sequence = sequence
        self.message = message
    }
}
