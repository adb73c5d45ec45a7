import Transport

/// CurveZMQ key files: the input is a file's contents, read as a secret key file, a public key file and an
/// authorized-keys file. Every key read must be the key its line spells (Z85 re-encodes to the same text).
enum KeyFileFuzzing {
    static func run(_ input: [UInt8]) throws(FuzzFailure) {
        if let pair = try? CurveKeyFile.keyPair(parsing: input, path: "fuzz.key") {
            try expectLine(pair.secretZ85, in: input, "secret key")
            guard (try? CurveKeyPair(secretZ85: pair.secretZ85)) == pair else {
                throw FuzzFailure("secret key \(pair.publicKey) does not read back as the same pair")
            }
        }
        if let key = try? CurveKeyFile.publicKey(parsing: input, path: "fuzz.pub") {
            try expectLine(key.z85, in: input, "public key")
        }
        if let keys = try? CurveKeyFile.authorizedKeys(parsing: input, path: "authorized") {
            for key in keys.keys { try expectLine(key.z85, in: input, "authorized key") }
        }
    }

    /// `z85` must appear in the input as a whole line (spaces around it allowed).
    private static func expectLine(_ z85: String, in input: [UInt8], _ what: String) throws(FuzzFailure) {
        let text = String(decoding: input, as: UTF8.self)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        guard lines.contains(where: { $0.contains(z85) }) else {
            throw FuzzFailure("\(what) read as \(z85), which no line of the file spells")
        }
    }
}
