import Logging

/// Answers libzmq's ZAP requests (ZeroMQ RFC 27) for one context: a CURVE client is admitted only when its public
/// key is listed. libzmq asks at every handshake of a CURVE socket in the context; the handler's REP socket must be
/// bound before that socket binds, and `serviceWaiting()` must be called while connections are made (the router's
/// receive does it), since a handshake waits for the answer.
///
/// One owner: the endpoint whose context it lives in.
final class ZAPHandler {
    static let endpoint = "inproc://zeromq.zap.01"
    /// The ZAP domain the router sets, so that libzmq always consults this handler.
    static let domain = "memory-bank-trainer"

    let socket: ZMQSocket
    private let authorized: [CurveKey: String]
    private let logger: Logger
    private var refusals = LogThrottle(seconds: 10)
    private(set) var counters = ZAPCounters()

    init(context: ZMQContext, authorized: [CurveKey: String], logger: Logger) throws(ZMQError) {
        self.authorized = authorized
        self.logger = logger
        socket = try ZMQSocket(context: context, kind: .reply)
        do {
            try socket.bind(Self.endpoint)
        } catch {
            socket.close()
            throw error
        }
    }

    func close() { socket.close() }

    /// Answers every request already waiting.
    func serviceWaiting() throws(ZMQError) {
        while let (frames, _) = try socket.receive(keep: 8) {
            let decision = Self.decide(frames, authorized: authorized)
            record(decision)
            _ = try socket.send(decision.reply)
        }
    }

    private func record(_ d: ZAPDecision) {
        switch d.status {
        case .admitted:
            counters.admitted += 1
            logger.info("admitted CURVE client \(d.label ?? "?") (\(d.clientKey?.z85 ?? "?")) from \(d.address)")
        case .refused:
            counters.refused += 1
            let (show, suppressed) = refusals.allow("\(d.address) \(d.clientKey?.z85 ?? d.mechanism)", now: MonotonicClock.now())
            guard show else { return }
            let key = d.clientKey.map { "public key \($0.z85) is not authorized" } ?? "\(d.mechanism) client without a CURVE key"
            logger.warning("refused a connection from \(d.address): \(key)\(suppressed > 0 ? " (\(suppressed) more refusals not logged)" : "")")
        case .malformed:
            counters.refused += 1
            logger.error("malformed ZAP request (\(d.statusText)); refused")
        }
    }

    /// The answer to one request: `frames` are version, request id, domain, address, identity, mechanism and the
    /// mechanism's credentials (for CURVE: the client's 32-byte public key).
    static func decide(_ frames: [[UInt8]], authorized: [CurveKey: String]) -> ZAPDecision {
        let text = { (i: Int) -> String in i < frames.count ? String(decoding: frames[i], as: UTF8.self) : "" }
        let requestID = frames.count > 1 ? frames[1] : []
        guard frames.count >= 6, text(0) == "1.0" else {
            return ZAPDecision(requestID: requestID, status: .malformed, statusText: "expected ZAP 1.0 with 6 or more frames, got \(frames.count)",
                               address: text(3), mechanism: text(5), clientKey: nil, label: nil)
        }
        let mechanism = text(5)
        guard mechanism == "CURVE", frames.count == 7, frames[6].count == 32 else {
            return ZAPDecision(requestID: requestID, status: .refused, statusText: "CURVE client key required",
                               address: text(3), mechanism: mechanism, clientKey: nil, label: nil)
        }
        let key = CurveKey(bytes: frames[6])
        guard let label = authorized[key] else {
            return ZAPDecision(requestID: requestID, status: .refused, statusText: "client key not authorized",
                               address: text(3), mechanism: mechanism, clientKey: key, label: nil)
        }
        return ZAPDecision(requestID: requestID, status: .admitted, statusText: "OK", address: text(3),
                           mechanism: mechanism, clientKey: key, label: label)
    }
}

/// What the ZAP handler answered to one request.
struct ZAPDecision: Equatable {
    enum Status: Equatable { case admitted, refused, malformed }

    let requestID: [UInt8]
    let status: Status
    let statusText: String
    /// The peer's IP address, as libzmq gives it.
    let address: String
    let mechanism: String
    let clientKey: CurveKey?
    /// The authorized key's label (its file), when admitted.
    let label: String?

    /// The reply frames: version, request id, status code, status text, user id, metadata.
    var reply: [[UInt8]] {
        let code = switch status {
        case .admitted: "200"
        case .refused: "400"
        case .malformed: "500"
        }
        return [Array("1.0".utf8), requestID, Array(code.utf8), Array(statusText.utf8), Array((label ?? "").utf8), []]
    }
}

/// Handshakes the ZAP handler has answered.
public struct ZAPCounters: Equatable, Sendable {
    public var admitted = 0
    public var refused = 0

    public init() {}
}
