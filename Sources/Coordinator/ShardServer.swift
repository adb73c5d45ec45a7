import Logging
import Transport
import Wire

/// A state shard's shell (`coordinator shard`): a ROUTER the coordinator connects to, each request answered by
/// `ShardService` with one message carrying the request's sequence number, so that the coordinator can tell an
/// answer from a late one. A repeat of the last request answered (same sequence number, same message: the
/// coordinator resends what it got no answer to) is answered from a copy of that answer, not carried out again, so
/// that a step is applied once however often its SHARD_APPLY arrives. Nothing but bytes and the loop lives here.
public final class ShardServer {
    public let service: ShardService
    let endpoint: any RouterTransport
    let logger: Logger
    /// Requests answered, and refused, so far.
    public private(set) var answered = 0
    public private(set) var refused = 0
    /// Repeats answered from the copy.
    public private(set) var repeats = 0
    /// The last request carried out and its answer (a refusal is not kept: carried out again, it is refused again
    /// and changes nothing).
    private var last: (sequence: UInt64, request: Message, answer: Message)?

    /// `transport`: nil binds a ZeroMQ ROUTER at `bind`.
    public init(bind: String, maxMessageBytes: Int, options: EndpointOptions = EndpointOptions(), logger: Logger,
                transport: (any RouterTransport)? = nil, service: ShardService = ShardService()) throws {
        self.service = service
        self.logger = logger
        endpoint = try transport ?? RouterEndpoint(bind: bind, maxMessageBytes: maxMessageBytes, logger: logger,
                                                   options: options)
    }

    /// The address actually bound (useful with port 0).
    public var boundEndpoint: String { endpoint.boundEndpoint }

    /// Answers requests until `stopRequested` returns true (checked at least every 100 ms).
    public func run(stopRequested: () -> Bool = { false }) throws {
        logger.info("shard listening on \(endpoint.boundEndpoint)")
        while !stopRequested() {
            try serve(timeoutMilliseconds: 100)
        }
        endpoint.close()
    }

    /// Answers the requests that arrive within `timeoutMilliseconds` (then those already waiting).
    public func serve(timeoutMilliseconds: Int) throws {
        var timeout = timeoutMilliseconds
        while let received = try endpoint.receive(timeoutMilliseconds: timeout) {
            timeout = 0
            switch received {
            case let .message(peer, envelope):
                if let last, last.sequence == envelope.sequence, last.request == envelope.message {
                    repeats += 1
                    logger.debug("answered a repeated \(envelope.message.name) (sequence \(envelope.sequence)) again")
                    try endpoint.send(Envelope(sender: service.opened.map { $0.index + 1 } ?? 0,
                                               sequence: envelope.sequence, message: last.answer), to: peer)
                    continue
                }
                let answer = service.answer(envelope.message)
                answered += 1
                if case .reject = answer {} else { last = (envelope.sequence, envelope.message, answer) }
                if case let .reject(_, text) = answer {
                    refused += 1
                    logger.warning("refused a \(envelope.message.name) from \(peer): \(PeerText.escaped(text))")
                } else if case let .shardReady(runId, index, version) = answer, case .shardOpen = envelope.message {
                    logger.info("holding shard \(index + 1) of \(service.partition.count) of run \(String(runId, radix: 16)) at version \(version)")
                }
                let sender = service.opened.map { $0.index + 1 } ?? 0
                try endpoint.send(Envelope(sender: sender, sequence: envelope.sequence, message: answer), to: peer)
            case let .malformed(peer, error):
                refused += 1
                logger.warning("a malformed message from \(peer): \(error)")
                try endpoint.send(Envelope(sender: 0, sequence: 0, message: .reject(.malformed, "\(error)")), to: peer)
            }
        }
    }
}
