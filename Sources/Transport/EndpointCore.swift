import Logging
import Wire

/// What both endpoints share: the context and socket they own, common options, CurveZMQ security (with the ZAP
/// handler of a server), the connection monitor, fault injection on the send side and message framing on the
/// receive side.
final class EndpointCore {
    private let context: ZMQContext
    let socket: ZMQSocket
    let logger: Logger
    /// A CURVE server's ZAP handler, serviced while waiting for messages.
    private var zap: ZAPHandler?
    /// Logs refused handshakes and dropped connections, serviced while waiting for messages.
    private var monitor: ConnectionMonitor?
    private var faults: FaultInjector?
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    /// Header and payload bytes sent and received (see `TrafficCounters`).
    private(set) var traffic = TrafficCounters()

    init(kind: ZMQSocket.Kind, role: ConnectionMonitor.Role, maxMessageBytes: Int, options: EndpointOptions,
         logger: Logger, configure: (ZMQSocket) throws(ZMQError) -> Void) throws(TransportError) {
        precondition(maxMessageBytes > 0, "maxMessageBytes must be positive, got \(maxMessageBytes)")
        self.logger = logger
        self.origin = clock.now
        self.faults = options.faults.isEnabled ? FaultInjector(options.faults) : nil
        context = try zmq { () throws(ZMQError) in try ZMQContext() }
        let context = self.context
        let socket: ZMQSocket
        do {
            socket = try zmq { () throws(ZMQError) in try ZMQSocket(context: context, kind: kind) }
        } catch {
            context.terminate()
            throw error
        }
        self.socket = socket
        do {
            try zmq { () throws(ZMQError) in
                try socket.setMaxMessageSize(Int64(maxMessageBytes))
                try socket.set(.sendHighWaterMark, options.sendHighWaterMark)
                try socket.set(.receiveHighWaterMark, options.receiveHighWaterMark)
                try socket.set(.reconnectInterval, options.reconnectIntervalMilliseconds)
                try socket.set(.reconnectIntervalMax, options.reconnectIntervalMaxMilliseconds)
                if options.connectionHeartbeatIntervalMilliseconds > 0 {
                    try socket.set(.heartbeatInterval, options.connectionHeartbeatIntervalMilliseconds)
                    try socket.set(.heartbeatTimeout, options.connectionHeartbeatTimeoutMilliseconds)
                    try socket.set(.heartbeatTTL, options.connectionHeartbeatTimeoutMilliseconds)
                }
                try secure(socket, kind: kind, options.curve, context: context, logger: logger)
                monitor = try ConnectionMonitor(context: context, watching: socket, role: role,
                                                maxMessageBytes: maxMessageBytes, logger: logger)
                try configure(socket)
            }
        } catch {
            close()
            throw error
        }
        if let faults { logger.notice("fault injection on: \(faults.settings)") }
        switch options.curve {
        case .server(let server)?:
            logger.info("CurveZMQ on: server key \(server.keys.publicKey.z85), \(server.authorizedClients.count) authorized client key(s)")
        case .client(let client)?:
            logger.info("CurveZMQ on: client key \(client.keys.publicKey.z85), server key \(client.serverPublicKey.z85)")
        case nil:
            break
        }
    }

    /// Sets the CURVE options; a server first binds its ZAP handler, which libzmq then asks at every handshake.
    private func secure(_ socket: ZMQSocket, kind: ZMQSocket.Kind, _ curve: CurveSecurity?, context: ZMQContext,
                        logger: Logger) throws(ZMQError) {
        switch curve {
        case nil:
            return
        case .server(let server):
            precondition(kind == .router, "CurveSecurity.server is for the ROUTER endpoint")
            zap = try ZAPHandler(context: context, authorized: server.authorizedClients, logger: logger)
            try socket.set(.curveServer, 1)
            try socket.set(.curveSecretKey, server.keys.secretKey)
            try socket.set(.zapDomain, Array(ZAPHandler.domain.utf8))
        case .client(let client):
            precondition(kind == .dealer, "CurveSecurity.client is for the DEALER endpoint")
            try socket.set(.curveServerKey, client.serverPublicKey.bytes)
            try socket.set(.curvePublicKey, client.keys.publicKey.bytes)
            try socket.set(.curveSecretKey, client.keys.secretKey)
        }
    }

    deinit { close() }

    var isClosed: Bool { socket.isClosed }

    func close() {
        if let held = faults?.heldCount, held > 0 { logger.debug("discarding \(held) messages held by fault injection") }
        faults = nil
        zap?.close()
        monitor?.close()
        socket.close()
        context.terminate()
    }

    var faultCounters: FaultCounters { faults?.counters ?? FaultCounters() }
    var zapCounters: ZAPCounters { zap?.counters ?? ZAPCounters() }
    var connectionCounters: ConnectionCounters { monitor?.counters ?? ConnectionCounters() }

    private var nowMilliseconds: UInt64 {
        let elapsed = origin.duration(to: clock.now).components
        return UInt64(elapsed.seconds) * 1000 + UInt64(elapsed.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: Sending

    /// Encodes and sends one message to `peer` (a ROUTER's routing id; nil on a DEALER). Returns false when libzmq
    /// did not take it. With fault injection the message goes through the injector and the answer is always true:
    /// the injector took it, and what it puts on the wire later is its business.
    func send(_ envelope: Envelope, to peer: PeerID?) throws(TransportError) -> Bool {
        guard !isClosed else { throw .closed }
        let (header, payload) = WireCodec.encode(envelope)
        guard faults != nil else { return try transmit(OutgoingMessage(peer: peer, header: header, payload: payload), envelope.message) }
        let now = nowMilliseconds
        let batch = faults!.outgoing(OutgoingMessage(peer: peer, header: header, payload: payload), now: now)
        for message in batch { _ = try transmit(message, envelope.message) }
        return true
    }

    /// Sends delayed messages whose time has come (fault injection only).
    func releaseDueMessages() throws(TransportError) {
        guard faults != nil else { return }
        for message in faults!.due(now: nowMilliseconds) { _ = try transmit(message, nil) }
    }

    private func transmit(_ m: OutgoingMessage, _ message: Message?) throws(TransportError) -> Bool {
        let frames = m.peer.map { [$0.bytes, m.header, m.payload] } ?? [m.header, m.payload]
        let socket = self.socket
        let outcome = try zmq { () throws(ZMQError) in try socket.send(frames) }
        switch outcome {
        case .sent:
            traffic.messagesSent += 1
            traffic.bytesSent += m.header.count + m.payload.count
            return true
        case .hostUnreachable:
            logger.debug("not sent: peer \(m.peer?.description ?? "?") is not connected", metadata: ["message": "\(message?.name ?? "")"])
            return false
        case .wouldBlock:
            logger.notice("not sent: no connection ready or send queue full", metadata: [
                "peer": "\(m.peer?.description ?? "server")", "message": "\(message?.name ?? "")",
            ])
            return false
        }
    }

    // MARK: Receiving

    /// Waits up to `timeoutMilliseconds` for one message. `routed` = a ROUTER, whose messages start with the
    /// peer's routing id frame.
    func receive(timeoutMilliseconds: Int, routed: Bool) throws(TransportError) -> Received? {
        guard !isClosed else { throw .closed }
        try releaseDueMessages()
        let socket = self.socket
        let keep = routed ? 4 : 3
        let got = try zmq { () throws(ZMQError) -> (frames: [[UInt8]], count: Int)? in
            guard try waitReadable(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
            return try socket.receive(keep: keep)
        }
        guard var (frames, count) = got else { return nil }
        var peer = PeerID.server
        if routed {
            peer = PeerID(frames.removeFirst())
            count -= 1
        }
        traffic.messagesReceived += 1
        traffic.bytesReceived += frames.reduce(0) { $0 + $1.count }
        guard count == 2 else { return malformed(peer, .badFrameCount(count)) }
        do {
            return .message(peer, try WireCodec.decode(header: frames[0], payload: frames[1]))
        } catch {
            return malformed(peer, error)
        }
    }

    /// Waits for a message on the socket, answering ZAP requests and reading monitor events meanwhile.
    private func waitReadable(timeoutMilliseconds timeout: Int) throws(ZMQError) -> Bool {
        let helpers = [zap?.socket, monitor?.socket].compactMap { $0 }
        guard !helpers.isEmpty else { return try socket.waitReadable(timeoutMilliseconds: timeout) }
        let deadline = clock.now.advanced(by: .milliseconds(max(timeout, 0)))
        while true {
            var left = -1
            if timeout >= 0 {
                let d = clock.now.duration(to: deadline).components
                left = max(0, Int(d.seconds) * 1000 + Int(d.attoseconds / 1_000_000_000_000_000))
            }
            let ready = try ZMQSocket.waitReadable([socket] + helpers, timeoutMilliseconds: left)
            try zap?.serviceWaiting()
            try monitor?.serviceWaiting()
            if ready[0] { return true }
            if left == 0 { return false }
        }
    }

    private func malformed(_ peer: PeerID, _ error: WireError) -> Received {
        logger.warning("malformed message from \(peer): \(error)")
        return .malformed(peer, error)
    }
}
