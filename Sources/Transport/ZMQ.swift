// The only file that imports libzmq. Every call's return code is checked; a failure becomes a `ZMQError` carrying
// the function name, errno and libzmq's text. EINTR is retried here and nowhere else.
import CZeroMQ

/// A failed libzmq call.
public struct ZMQError: Error, Equatable, Sendable, CustomStringConvertible {
    public let function: String
    public let errno: Int32
    public let message: String

    init(_ function: String, errno: Int32) { self.init(function, errno: errno, message: String(cString: zmq_strerror(errno))) }

    init(_ function: String, errno: Int32, message: String) {
        self.function = function
        self.errno = errno
        self.message = message
    }

    /// The error of the last failed call on this thread.
    static func last(_ function: String) -> ZMQError { ZMQError(function, errno: zmq_errno()) }

    public var description: String { "\(function) failed: \(message) (errno \(errno))" }

    var isInterrupted: Bool { errno == EINTR }
    var isWouldBlock: Bool { errno == EAGAIN }
    var isHostUnreachable: Bool { errno == EHOSTUNREACH }
}

/// Library-wide helpers: version, capabilities, CURVE keys and Z85 text.
public enum ZMQ {
    /// libzmq's version, e.g. (4, 3, 4).
    public static var version: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// Whether libzmq was built with a capability ("curve", "ipc", …).
    public static func has(_ capability: String) -> Bool { zmq_has(capability) != 0 }

    /// A new CURVE key pair as two 40-character Z85 strings.
    public static func curveKeypair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw .last("zmq_curve_keypair") }
        return (string(fromNulTerminated: publicKey), string(fromNulTerminated: secretKey))
    }

    /// The CURVE public key belonging to a Z85 secret key.
    public static func curvePublicKey(secretKey: String) throws(ZMQError) -> String {
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else { throw .last("zmq_curve_public") }
        return string(fromNulTerminated: publicKey)
    }

    /// Z85 text of `bytes`, whose count must be a multiple of 4.
    public static func z85Encode(_ bytes: [UInt8]) throws(ZMQError) -> String {
        guard bytes.count % 4 == 0 else {
            throw ZMQError("zmq_z85_encode", errno: EINVAL, message: "input of \(bytes.count) bytes is not a multiple of 4")
        }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        let ok = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) != nil }
        guard ok else { throw ZMQError("zmq_z85_encode", errno: EINVAL, message: "encoding failed") }
        return string(fromNulTerminated: text)
    }

    /// The bytes of Z85 text, whose length must be a multiple of 5.
    public static func z85Decode(_ text: String) throws(ZMQError) -> [UInt8] {
        let length = text.utf8.count
        guard length % 5 == 0 else {
            throw ZMQError("zmq_z85_decode", errno: EINVAL, message: "text of \(length) characters is not a multiple of 5")
        }
        var bytes = [UInt8](repeating: 0, count: length / 5 * 4)
        guard zmq_z85_decode(&bytes, text) != nil else {
            throw ZMQError("zmq_z85_decode", errno: EINVAL, message: "not valid Z85 text")
        }
        return bytes
    }

    private static func string(fromNulTerminated chars: [CChar]) -> String {
        String(decoding: chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A libzmq context: owns the handle and terminates it exactly once. Sockets keep their context alive.
final class ZMQContext {
    private var handle: UnsafeMutableRawPointer?

    init() throws(ZMQError) {
        guard let h = zmq_ctx_new() else { throw .last("zmq_ctx_new") }
        handle = h
    }

    fileprivate var rawHandle: UnsafeMutableRawPointer {
        guard let handle else { preconditionFailure("ZMQContext used after terminate()") }
        return handle
    }

    /// Terminates the context. Every socket of it must be closed first (or this blocks, per zmq_ctx_term).
    func terminate() {
        guard let h = handle else { return }
        handle = nil
        while zmq_ctx_term(h) != 0 {
            let error = ZMQError.last("zmq_ctx_term")
            if error.isInterrupted { continue }
            preconditionFailure("\(error)")  // EFAULT: not a context; a programmer error
        }
    }

    deinit { terminate() }
}

/// The socket-monitor events this project listens to (zmq_socket_monitor).
enum SocketEvent: CaseIterable, Equatable, Sendable {
    case accepted, connected, disconnected
    case handshakeSucceeded, handshakeFailedNoDetail, handshakeFailedProtocol, handshakeFailedAuth

    var code: Int32 {
        switch self {
        case .accepted: return ZMQ_EVENT_ACCEPTED
        case .connected: return ZMQ_EVENT_CONNECTED
        case .disconnected: return ZMQ_EVENT_DISCONNECTED
        case .handshakeSucceeded: return ZMQ_EVENT_HANDSHAKE_SUCCEEDED
        case .handshakeFailedNoDetail: return ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        case .handshakeFailedProtocol: return ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        case .handshakeFailedAuth: return ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
        }
    }

    init?(code: UInt16) {
        guard let event = Self.allCases.first(where: { $0.code == Int32(code) }) else { return nil }
        self = event
    }

    /// libzmq's name of a ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL value (ZMQ_PROTOCOL_ERROR_*), in words.
    static func protocolErrorText(_ value: UInt32) -> String {
        let known: [(Int32, String)] = [
            (ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, "security mechanism mismatch (a plain-text peer meeting a CURVE one, or the reverse)"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, "cryptographic error (wrong server public key?)"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO, "malformed HELLO"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE, "malformed INITIATE"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, "unexpected command"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE, "invalid sequence"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE, "key exchange failed"),
            (ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED, "unspecified ZMTP error"),
            (ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED, "ZAP error"),
            (ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY, "malformed ZAP reply"),
        ]
        if let (_, text) = known.first(where: { UInt32(bitPattern: $0.0) == value }) { return text }
        return "ZMTP protocol error 0x" + String(value, radix: 16)
    }
}

/// What became of a message handed to `ZMQSocket.send`.
enum SendOutcome: Equatable {
    case sent
    /// The queue to the peer is full (high-water mark), or no connection is ready (ZMQ_IMMEDIATE).
    case wouldBlock
    /// ROUTER_MANDATORY: no peer with that routing id is connected.
    case hostUnreachable
}

/// One libzmq socket with exactly one owner. Not thread-safe (neither is the libzmq socket); closed exactly once.
final class ZMQSocket {
    enum Kind {
        /// The protocol's sockets.
        case router, dealer
        /// ZAP handler (`ZAPHandler`) and the reading end of a socket monitor (`ConnectionMonitor`).
        case reply, pair

        var code: Int32 {
            switch self {
            case .router: return ZMQ_ROUTER
            case .dealer: return ZMQ_DEALER
            case .reply: return ZMQ_REP
            case .pair: return ZMQ_PAIR
            }
        }
    }

    enum IntOption {
        case linger, sendHighWaterMark, receiveHighWaterMark, sendTimeout, receiveTimeout
        case routerMandatory, routerHandover, immediate, reconnectInterval, reconnectIntervalMax
        case heartbeatInterval, heartbeatTimeout, heartbeatTTL, handshakeInterval, curveServer

        var code: Int32 {
            switch self {
            case .linger: return ZMQ_LINGER
            case .sendHighWaterMark: return ZMQ_SNDHWM
            case .receiveHighWaterMark: return ZMQ_RCVHWM
            case .sendTimeout: return ZMQ_SNDTIMEO
            case .receiveTimeout: return ZMQ_RCVTIMEO
            case .routerMandatory: return ZMQ_ROUTER_MANDATORY
            case .routerHandover: return ZMQ_ROUTER_HANDOVER
            case .immediate: return ZMQ_IMMEDIATE
            case .reconnectInterval: return ZMQ_RECONNECT_IVL
            case .reconnectIntervalMax: return ZMQ_RECONNECT_IVL_MAX
            case .heartbeatInterval: return ZMQ_HEARTBEAT_IVL
            case .heartbeatTimeout: return ZMQ_HEARTBEAT_TIMEOUT
            case .heartbeatTTL: return ZMQ_HEARTBEAT_TTL
            case .handshakeInterval: return ZMQ_HANDSHAKE_IVL
            case .curveServer: return ZMQ_CURVE_SERVER
            }
        }
    }

    enum BytesOption {
        case routingID, curvePublicKey, curveSecretKey, curveServerKey, zapDomain

        var code: Int32 {
            switch self {
            case .routingID: return ZMQ_ROUTING_ID
            case .curvePublicKey: return ZMQ_CURVE_PUBLICKEY
            case .curveSecretKey: return ZMQ_CURVE_SECRETKEY
            case .curveServerKey: return ZMQ_CURVE_SERVERKEY
            case .zapDomain: return ZMQ_ZAP_DOMAIN
            }
        }
    }

    let kind: Kind
    private let context: ZMQContext
    private var handle: UnsafeMutableRawPointer?

    /// A new socket with LINGER 0, so that closing never waits for unsent messages.
    init(context: ZMQContext, kind: Kind) throws(ZMQError) {
        guard let h = zmq_socket(context.rawHandle, kind.code) else { throw .last("zmq_socket") }
        self.kind = kind
        self.context = context
        self.handle = h
        do throws(ZMQError) {
            try set(.linger, 0)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        assert(handle == nil, "ZMQSocket (\(kind)) deinitialized without close(): its owner leaked it")
        close()
    }

    var isClosed: Bool { handle == nil }

    func close() {
        guard let h = handle else { return }
        handle = nil
        if zmq_close(h) != 0 { preconditionFailure("\(ZMQError.last("zmq_close"))") }  // ENOTSOCK: a programmer error
    }

    /// The open handle; using a closed socket is a programmer error.
    fileprivate var open: UnsafeMutableRawPointer {
        guard let handle else { preconditionFailure("ZMQSocket (\(kind)) used after close()") }
        return handle
    }

    // MARK: Options

    func set(_ option: IntOption, _ value: Int32) throws(ZMQError) {
        var v = value
        try setRaw(option.code, &v, MemoryLayout<Int32>.size, "zmq_setsockopt(\(option))")
    }

    func set(_ option: BytesOption, _ value: [UInt8]) throws(ZMQError) {
        let socket = open
        let rc = value.withUnsafeBytes { zmq_setsockopt(socket, option.code, $0.baseAddress, $0.count) }
        if rc != 0 { throw .last("zmq_setsockopt(\(option))") }
    }

    /// ZMQ_MAXMSGSIZE: a peer that sends a larger frame is disconnected by libzmq.
    func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        var v = bytes
        try setRaw(ZMQ_MAXMSGSIZE, &v, MemoryLayout<Int64>.size, "zmq_setsockopt(maxMessageSize)")
    }

    private func setRaw(_ code: Int32, _ value: UnsafeRawPointer?, _ length: Int, _ function: String) throws(ZMQError) {
        if zmq_setsockopt(open, code, value, length) != 0 { throw .last(function) }
    }

    /// ZMQ_LAST_ENDPOINT: the address actually bound, e.g. "tcp://127.0.0.1:54321" after binding port 0.
    func lastEndpoint() throws(ZMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        var length = buffer.count
        guard zmq_getsockopt(open, ZMQ_LAST_ENDPOINT, &buffer, &length) == 0 else {
            throw .last("zmq_getsockopt(lastEndpoint)")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Connections

    /// Publishes `events` (a set of `SocketEvent`s) of this socket on a PAIR socket bound at `endpoint`
    /// (inproc://…, in this socket's context); a `.pair` socket connected there reads them.
    func monitor(_ endpoint: String, events: [SocketEvent]) throws(ZMQError) {
        let mask = events.reduce(Int32(0)) { $0 | $1.code }
        if zmq_socket_monitor(open, endpoint, mask) != 0 { throw .last("zmq_socket_monitor(\(endpoint))") }
    }

    func bind(_ endpoint: String) throws(ZMQError) {
        if zmq_bind(open, endpoint) != 0 { throw .last("zmq_bind(\(endpoint))") }
    }

    func connect(_ endpoint: String) throws(ZMQError) {
        if zmq_connect(open, endpoint) != 0 { throw .last("zmq_connect(\(endpoint))") }
    }

    // MARK: Messages

    /// Sends `frames` as one multipart message without blocking. libzmq delivers all parts or none.
    func send(_ frames: [[UInt8]]) throws(ZMQError) -> SendOutcome {
        precondition(!frames.isEmpty, "a message has at least one frame")
        let socket = open
        for (index, frame) in frames.enumerated() {
            let flags = ZMQ_DONTWAIT | (index < frames.count - 1 ? ZMQ_SNDMORE : 0)
            while true {
                let rc = frame.withUnsafeBytes { buffer in
                    // libzmq copies the bytes; an empty frame still needs a valid pointer.
                    zmq_send(socket, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), buffer.count, flags)
                }
                if rc >= 0 { break }
                let error = ZMQError.last("zmq_send")
                if error.isInterrupted { continue }
                // After a first part was queued, libzmq rolls the partial message back on failure.
                if error.isWouldBlock { return .wouldBlock }
                if error.isHostUnreachable { return .hostUnreachable }
                throw error
            }
        }
        return .sent
    }

    /// Waits up to `timeoutMilliseconds` (-1 = forever) for a message to read.
    func waitReadable(timeoutMilliseconds: Int) throws(ZMQError) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        var timeout = timeoutMilliseconds
        while true {
            var item = zmq_pollitem_t(socket: open, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
            let rc = zmq_poll(&item, 1, timeout)
            if rc >= 0 { return rc > 0 && (item.revents & Int16(ZMQ_POLLIN)) != 0 }
            let error = ZMQError.last("zmq_poll")
            guard error.isInterrupted else { throw error }
            if timeoutMilliseconds >= 0 {
                let left = clock.now.duration(to: deadline).components
                timeout = max(0, Int(left.seconds) * 1000 + Int(left.attoseconds / 1_000_000_000_000_000))
            }
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1 = forever) until any of `sockets` has a message to read; returns, for
    /// each socket in order, whether it has one.
    static func waitReadable(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws(ZMQError) -> [Bool] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(timeoutMilliseconds))
        var timeout = timeoutMilliseconds
        while true {
            var items = sockets.map { zmq_pollitem_t(socket: $0.open, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
            let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeout) }
            if rc >= 0 { return items.map { rc > 0 && ($0.revents & Int16(ZMQ_POLLIN)) != 0 } }
            let error = ZMQError.last("zmq_poll")
            guard error.isInterrupted else { throw error }
            if timeoutMilliseconds >= 0 {
                let left = clock.now.duration(to: deadline).components
                timeout = max(0, Int(left.seconds) * 1000 + Int(left.attoseconds / 1_000_000_000_000_000))
            }
        }
    }

    /// Reads one whole multipart message without blocking, or nil if none is waiting. Keeps at most `keep` frames
    /// (the rest are read and discarded, so a hostile peer cannot make us hold arbitrarily many) and reports how
    /// many there were.
    func receive(keep: Int) throws(ZMQError) -> (frames: [[UInt8]], count: Int)? {
        let socket = open
        var frames: [[UInt8]] = []
        var count = 0
        var more = true
        while more {
            var message = zmq_msg_t()
            guard zmq_msg_init(&message) == 0 else { throw .last("zmq_msg_init") }
            defer { zmq_msg_close(&message) }
            while zmq_msg_recv(&message, socket, ZMQ_DONTWAIT) < 0 {
                let error = ZMQError.last("zmq_msg_recv")
                if error.isInterrupted { continue }
                // Parts of a multipart message arrive together, so EAGAIN can only happen on the first.
                if error.isWouldBlock && count == 0 { return nil }
                throw error
            }
            count += 1
            if frames.count < keep {
                let size = zmq_msg_size(&message)
                let data = zmq_msg_data(&message)
                frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            }
            more = zmq_msg_more(&message) != 0
        }
        return (frames, count)
    }
}
