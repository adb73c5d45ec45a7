import Wire

/// A fuzz input read as a script of events for a protocol state machine. Each event starts with one byte:
///
///     bits 0-1  peer (the coordinator's four possible senders; ignored by the worker)
///     bits 2-4  clock advance before the event: 0, 0.01, 0.1, 0.3, 0.6, 1, 2.5 or 5 s
///     bits 5-7  0-4: a message follows as a frame (tag byte, then payload; a correct header is added),
///               5: a tick only, 6: a shell event of the machine (see the harness), 7: a message, then a tick
///
/// Messages that the wire decoder refuses are dropped, as the shell drops them; the others are fed in order.
struct ProtocolScript {
    enum Action {
        case message(Message, peer: Int, thenTick: Bool)
        case tick
        case shellEvent(argument: UInt8)
    }

    struct Event {
        var now: Double
        var peer: Int
        var action: Action
    }

    static let advances: [Double] = [0, 0.01, 0.1, 0.3, 0.6, 1, 2.5, 5]

    private var input: FuzzInput
    private(set) var now: Double = 0

    init(_ bytes: [UInt8]) { input = FuzzInput(bytes) }

    /// The next event, or nil at the end of the input. Throws if a decoded message does not re-encode.
    mutating func next() throws(FuzzFailure) -> Event? {
        while !input.isAtEnd {
            let op = input.byte()
            let peer = Int(op & 3)
            now += Self.advances[Int(op >> 2) & 7]
            switch op >> 5 {
            case 5:
                return Event(now: now, peer: peer, action: .tick)
            case 6:
                return Event(now: now, peer: peer, action: .shellEvent(argument: input.byte()))
            default:
                let frame = input.frame()
                guard let tag = frame.first,
                      let envelope = try WireCodec.fuzzDecode(tag: UInt16(tag), payload: Array(frame.dropFirst()))
                else { continue }
                return Event(now: now, peer: peer, action: .message(envelope.message, peer: peer, thenTick: op >> 5 == 7))
            }
        }
        return nil
    }

    /// The script byte of an event (for building seeds): `kind` 0 (message), 5 (tick), 6 (shell event) or 7.
    static func op(kind: UInt8, peer: Int = 0, advance: Int = 0) -> UInt8 {
        precondition(kind < 8 && peer < 4 && advance < 8, "script op out of range")
        return kind << 5 | UInt8(advance) << 2 | UInt8(peer)
    }

    /// A message as a script event (for building seeds).
    static func message(_ message: Message, peer: Int = 0, advance: Int = 0, thenTick: Bool = true) -> [UInt8] {
        let payload = WireCodec.encode(Envelope(sender: 0, sequence: 1, message: message)).payload
        return [op(kind: thenTick ? 7 : 0, peer: peer, advance: advance)]
            + FuzzInput.encode(frames: [[UInt8(message.tag)] + payload])
    }
}
