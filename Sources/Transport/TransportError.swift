/// Why an endpoint could not be created or used.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An endpoint string is not of the form tcp://HOST:PORT.
    case badEndpoint(String)
    /// A libzmq call failed.
    case zmq(ZMQError)
    /// The endpoint was used after `close()`.
    case closed

    public var description: String {
        switch self {
        case .badEndpoint(let given): return "tcp://HOST:PORT expected, got \"\(given)\""
        case .zmq(let error): return error.description
        case .closed: return "the endpoint was used after close()"
        }
    }
}

/// Runs a libzmq wrapper call, turning its error into a `TransportError`.
func zmq<T>(_ body: () throws(ZMQError) -> T) throws(TransportError) -> T {
    do {
        return try body()
    } catch {
        throw .zmq(error)
    }
}
