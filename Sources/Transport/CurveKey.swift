/// A CURVE public key: 32 bytes, written as 40 characters of Z85 (ZeroMQ RFC 32).
public struct CurveKey: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses 40 characters of Z85.
    public init(z85 text: String) throws(CurveKeyError) {
        guard text.utf8.count == 40 else {
            throw CurveKeyError("expected 40 characters of Z85, got \(text.utf8.count)")
        }
        // libzmq reads a C string: a NUL would end the key early, and the rest would decode as zeros.
        if let bad = text.unicodeScalars.first(where: { !CurveKey.z85Alphabet.contains($0) }) {
            throw CurveKeyError("not valid Z85 text: U+\(String(bad.value, radix: 16, uppercase: true)) is not a Z85 character")
        }
        guard let bytes = try? ZMQ.z85Decode(text) else { throw CurveKeyError("not valid Z85 text") }
        self.bytes = bytes
    }

    /// The 85 characters of Z85 (ZeroMQ RFC 32).
    static let z85Alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".unicodeScalars)

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a CURVE key has 32 bytes, got \(bytes.count)")
        self.bytes = bytes
    }

    /// The key as 40 characters of Z85.
    public var z85: String {
        do { return try ZMQ.z85Encode(bytes) } catch { preconditionFailure("32 bytes always encode: \(error)") }
    }

    public var description: String { z85 }
}

/// A CURVE key pair. Its description shows the public key only.
public struct CurveKeyPair: Equatable, Sendable, CustomStringConvertible {
    public let publicKey: CurveKey
    /// 32 secret bytes; never logged.
    public let secretKey: [UInt8]

    /// The pair of a Z85 secret key (its public key is derived from it).
    public init(secretZ85 text: String) throws(CurveKeyError) {
        let secret = try CurveKey(z85: text)
        guard let publicText = try? ZMQ.curvePublicKey(secretKey: text) else {
            throw CurveKeyError("libzmq cannot derive a public key (is it built with CURVE?)")
        }
        publicKey = try CurveKey(z85: publicText)
        secretKey = secret.bytes
    }

    /// A new random key pair.
    public static func generate() throws(CurveKeyError) -> CurveKeyPair {
        guard ZMQ.has("curve") else { throw CurveKeyError("libzmq is built without CURVE support") }
        let secret: String
        do { secret = try ZMQ.curveKeypair().secretKey } catch { throw CurveKeyError("\(error)") }
        return try CurveKeyPair(secretZ85: secret)
    }

    /// The secret key as 40 characters of Z85 (for writing a key file).
    public var secretZ85: String { CurveKey(bytes: secretKey).z85 }

    public var description: String { "CurveKeyPair(public: \(publicKey.z85))" }
}

/// A key that is not 40 characters of valid Z85, or a key file that cannot be used.
public struct CurveKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
