import Foundation
import Transport
import Wire

/// A coordinator's and its workers' sockets in one process, without ZeroMQ: every message is encoded to its two
/// frames and decoded again (a frame that does not decode arrives as `.malformed`), queued in memory and received
/// with the same timeouts as a socket. A worker's death is `close()` on its dealer: messages to it are no longer
/// taken, and the coordinator hears nothing more from it. A coordinator can be replaced (a restart) by asking for
/// a new router; the dealers keep their queues to it.
public final class InMemoryNetwork: @unchecked Sendable {
    private let condition = NSCondition()
    private var toRouter: [(PeerID, header: [UInt8], payload: [UInt8])] = []
    private var toDealer: [PeerID: [(header: [UInt8], payload: [UInt8])]] = [:]
    private var routerOpen = false
    private var nextDealer: UInt8 = 1

    public init() {}

    /// The coordinator's side; a new router replaces the previous one (whose unread messages are dropped).
    public func router(address: String = "inmemory://coordinator") -> Router {
        condition.lock()
        defer { condition.unlock() }
        routerOpen = true
        toRouter.removeAll()
        return Router(network: self, boundEndpoint: address)
    }

    /// A worker's side, with a new routing id. `diesAtStep`: the dealer closes itself (the worker dies) when the
    /// STEP of that global step number reaches it, before the worker reads it.
    public func dealer(diesAtStep: UInt64? = nil) -> Dealer {
        condition.lock()
        defer { condition.unlock() }
        let peer = PeerID([nextDealer])
        nextDealer &+= 1
        toDealer[peer] = []
        return Dealer(network: self, peer: peer, diesAtStep: diesAtStep)
    }

    /// Queues the message's frames for `peer` (nil: the router); its bytes, or nil when no one could take it.
    private func deliver(_ envelope: Envelope, to peer: PeerID?, from sender: PeerID) -> Int? {
        let (header, payload) = WireCodec.encode(envelope)
        condition.lock()
        defer { condition.unlock() }
        if let peer {
            guard toDealer[peer] != nil else { return nil }
            toDealer[peer]!.append((header, payload))
        } else {
            guard routerOpen else { return nil }
            toRouter.append((sender, header, payload))
        }
        condition.broadcast()
        return header.count + payload.count
    }

    /// The next message for `peer` (nil: the router), waiting up to `timeout` ms (-1: without end).
    private func take(for peer: PeerID?, timeoutMilliseconds timeout: Int) throws(TransportError) -> Received? {
        let deadline = Date().addingTimeInterval(Double(max(timeout, 0)) / 1000)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let peer {
                guard let queue = toDealer[peer] else { throw .closed }
                if let first = queue.first {
                    toDealer[peer]!.removeFirst()
                    return Self.decoded(from: .server, first.header, first.payload)
                }
            } else {
                guard routerOpen else { throw .closed }
                if !toRouter.isEmpty {
                    let first = toRouter.removeFirst()
                    return Self.decoded(from: first.0, first.header, first.payload)
                }
            }
            if timeout == 0 { return nil }
            if timeout < 0 {
                condition.wait()
            } else if !condition.wait(until: deadline) {
                return nil
            }
        }
    }

    private static func decoded(from peer: PeerID, _ header: [UInt8], _ payload: [UInt8]) -> Received {
        do {
            return .message(peer, try WireCodec.decode(header: header, payload: payload))
        } catch {
            return .malformed(peer, error)
        }
    }

    private func closeRouter() {
        condition.lock()
        routerOpen = false
        toRouter.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    private func closeDealer(_ peer: PeerID) {
        condition.lock()
        toDealer.removeValue(forKey: peer)
        condition.broadcast()
        condition.unlock()
    }

    /// The coordinator's end of an `InMemoryNetwork`.
    public final class Router: RouterTransport, @unchecked Sendable {
        private let network: InMemoryNetwork
        public let boundEndpoint: String
        public private(set) var traffic = TrafficCounters()
        private var closed = false

        init(network: InMemoryNetwork, boundEndpoint: String) {
            self.network = network
            self.boundEndpoint = boundEndpoint
        }

        @discardableResult
        public func send(_ envelope: Envelope, to peer: PeerID) throws(TransportError) -> Bool {
            guard !closed else { throw .closed }
            guard let bytes = network.deliver(envelope, to: peer, from: .server) else { return false }
            traffic.messagesSent += 1
            traffic.bytesSent += bytes
            return true
        }

        public func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received? {
            guard !closed else { throw .closed }
            let received = try network.take(for: nil, timeoutMilliseconds: timeoutMilliseconds)
            if case let .message(_, envelope)? = received {
                let (header, payload) = WireCodec.encode(envelope)
                traffic.messagesReceived += 1
                traffic.bytesReceived += header.count + payload.count
            }
            return received
        }

        public func close() {
            guard !closed else { return }
            closed = true
            network.closeRouter()
        }
    }

    /// A worker's end of an `InMemoryNetwork`; `close()` is the worker's death as the coordinator sees it.
    public final class Dealer: DealerTransport, @unchecked Sendable {
        private let network: InMemoryNetwork
        /// The coordinator's name for this worker.
        public let peer: PeerID

        private let diesAtStep: UInt64?
        /// Messages and header + payload bytes this end sent and received, counted as the ZeroMQ endpoint does.
        public private(set) var traffic = TrafficCounters()

        init(network: InMemoryNetwork, peer: PeerID, diesAtStep: UInt64?) {
            self.network = network
            self.peer = peer
            self.diesAtStep = diesAtStep
        }

        @discardableResult
        public func send(_ envelope: Envelope) throws(TransportError) -> Bool {
            try network.checkOpen(peer)
            guard network.deliver(envelope, to: nil, from: peer) != nil else { return false }
            let (header, payload) = WireCodec.encode(envelope)
            traffic.messagesSent += 1
            traffic.bytesSent += header.count + payload.count
            return true
        }

        public func receive(timeoutMilliseconds: Int) throws(TransportError) -> Received? {
            let received = try network.take(for: peer, timeoutMilliseconds: timeoutMilliseconds)
            if let diesAtStep, case let .message(_, envelope)? = received, case let .step(step) = envelope.message,
               step.step >= diesAtStep {
                close()
                throw .closed
            }
            if case let .message(_, envelope)? = received {
                let (header, payload) = WireCodec.encode(envelope)
                traffic.messagesReceived += 1
                traffic.bytesReceived += header.count + payload.count
            }
            return received
        }

        /// Idempotent; may be called from another thread than the worker's (its receive then throws `.closed`).
        public func close() { network.closeDealer(peer) }
    }

    private func checkOpen(_ peer: PeerID) throws(TransportError) {
        condition.lock()
        defer { condition.unlock() }
        guard toDealer[peer] != nil else { throw .closed }
    }
}
