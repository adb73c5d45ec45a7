import SplitMix

/// One message on its way out: the routing peer (nil on a dealer) and its two frames.
public struct OutgoingMessage: Equatable, Sendable {
    public var peer: PeerID?
    public var header: [UInt8]
    public var payload: [UInt8]

    public init(peer: PeerID?, header: [UInt8], payload: [UInt8]) {
        self.peer = peer
        self.header = header
        self.payload = payload
    }
}

/// How many faults were applied.
public struct FaultCounters: Equatable, Sendable {
    /// Messages offered to the injector.
    public var offered = 0
    public var dropped = 0
    public var duplicated = 0
    public var delayed = 0
    public var reordered = 0
    public var corrupted = 0

    public init() {}
}

/// Seeded fault injection on the send side, as a pure state machine: it is told about each outgoing message and
/// the time, and answers which messages to put on the wire now. The endpoints carry the answers out.
///
/// Per message, in this order and with one random draw each (so a seed gives one fault stream):
/// - drop: the message is not sent;
/// - corrupt: one byte is XORed with a random non-zero value after the CRC was computed — a payload byte or a
///   header byte the decoder checks (magic, version, flags, length, CRC), so the receiver always notices;
/// - duplicate: the message is sent twice;
/// - delay: the message (and its duplicate) is held for `delayMilliseconds` and sent by the first send or receive
///   call after that;
/// - reorder (when not delayed): the message is held and sent right after the next message.
public struct FaultInjector: Sendable {
    public let settings: FaultSettings
    public private(set) var counters = FaultCounters()
    private var random: SplitMix64
    private var delayed: [(due: UInt64, message: OutgoingMessage)] = []
    private var overtaken: [OutgoingMessage] = []

    /// Header bytes whose corruption the decoder always detects: magic, version, flags, payload length, CRC.
    /// (Tag, sender and sequence are not covered by the checksum: see docs/PROTOCOL.md.)
    static let detectableHeaderOffsets: [Int] = Array(0..<6) + Array(12..<16) + Array(24..<32)

    public init(_ settings: FaultSettings) {
        self.settings = settings
        self.random = SplitMix64(seed: settings.seed)
    }

    /// Messages held back, not yet sent.
    public var heldCount: Int { delayed.count + overtaken.count }

    /// Decides the fate of one message at time `now` (milliseconds, any monotonic origin); returns what to send now,
    /// in order.
    public mutating func outgoing(_ message: OutgoingMessage, now: UInt64) -> [OutgoingMessage] {
        counters.offered += 1
        let rolls = (drop: random.unit(), corrupt: random.unit(), duplicate: random.unit(), delay: random.unit(), reorder: random.unit())
        var send: [OutgoingMessage] = []
        if rolls.drop < settings.drop {
            counters.dropped += 1
        } else {
            var m = message
            if rolls.corrupt < settings.corrupt {
                corruptOneByte(&m)
                counters.corrupted += 1
            }
            var copies = [m]
            if rolls.duplicate < settings.duplicate {
                copies.append(m)
                counters.duplicated += 1
            }
            if rolls.delay < settings.delay {
                counters.delayed += 1
                for copy in copies { delayed.append((now + UInt64(settings.delayMilliseconds), copy)) }
            } else if rolls.reorder < settings.reorder {
                counters.reordered += 1
                send += overtakenMessages()
                overtaken += copies
                return send + due(now: now)
            } else {
                send += copies
            }
        }
        // Messages held for reordering go out after the one that overtook them.
        send += overtakenMessages()
        return send + due(now: now)
    }

    /// Delayed messages whose time has come, oldest first.
    public mutating func due(now: UInt64) -> [OutgoingMessage] {
        guard delayed.contains(where: { $0.due <= now }) else { return [] }
        let ready = delayed.filter { $0.due <= now }.map(\.message)
        delayed.removeAll { $0.due <= now }
        return ready
    }

    private mutating func overtakenMessages() -> [OutgoingMessage] {
        defer { overtaken.removeAll() }
        return overtaken
    }

    private mutating func corruptOneByte(_ m: inout OutgoingMessage) {
        let positions = Self.detectableHeaderOffsets.count + m.payload.count
        let pick = Int(random.next() % UInt64(positions))
        let mask = UInt8(1 + random.next() % 255)
        if pick < Self.detectableHeaderOffsets.count {
            let offset = Self.detectableHeaderOffsets[pick]
            if offset < m.header.count { m.header[offset] ^= mask }
        } else {
            m.payload[pick - Self.detectableHeaderOffsets.count] ^= mask
        }
    }
}
