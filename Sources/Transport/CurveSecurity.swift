/// CurveZMQ settings of an endpoint: encryption, and who may connect.
public enum CurveSecurity: Equatable, Sendable {
    /// A ROUTER that admits only listed clients (checked by a ZAP handler in its context).
    case server(CurveServer)
    /// A DEALER that connects to a CURVE server whose public key it knows.
    case client(CurveClient)
}

/// The coordinator's side: its own key pair, and the public keys of the workers it admits, each with a label for
/// the logs (e.g. the file it came from).
public struct CurveServer: Equatable, Sendable {
    public var keys: CurveKeyPair
    public var authorizedClients: [CurveKey: String]

    public init(keys: CurveKeyPair, authorizedClients: [CurveKey: String]) {
        self.keys = keys
        self.authorizedClients = authorizedClients
    }
}

/// A worker's side: its own key pair and the coordinator's public key.
public struct CurveClient: Equatable, Sendable {
    public var keys: CurveKeyPair
    public var serverPublicKey: CurveKey

    public init(keys: CurveKeyPair, serverPublicKey: CurveKey) {
        self.keys = keys
        self.serverPublicKey = serverPublicKey
    }
}
