/// Checks endpoint strings before libzmq sees them, so that a typo gets a clear sentence instead of EINVAL.
enum EndpointAddress {
    /// Accepts tcp://HOST:PORT with PORT in 1…65535; when binding, HOST may be `*` and PORT may be 0 or `*`
    /// (an ephemeral port, learned afterwards from `boundEndpoint`). IPv6 hosts are written in brackets.
    static func validate(_ text: String, binding: Bool) throws(TransportError) {
        let scheme = "tcp://"
        guard text.hasPrefix(scheme) else { throw .badEndpoint(text) }
        let rest = text.dropFirst(scheme.count)
        guard let colon = rest.lastIndex(of: ":") else { throw .badEndpoint(text) }
        let host = rest[..<colon]
        let port = rest[rest.index(after: colon)...]
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw .badEndpoint(text) }
        if host.hasPrefix("[") != host.hasSuffix("]") { throw .badEndpoint(text) }
        if host.contains(":") && !host.hasPrefix("[") { throw .badEndpoint(text) }
        if host == "*" && !binding { throw .badEndpoint(text) }
        if binding && port == "*" { return }
        guard let number = Int(port), port.allSatisfy(\.isASCII), (binding ? 0 : 1)...65535 ~= number else {
            throw .badEndpoint(text)
        }
    }
}
