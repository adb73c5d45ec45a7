import ArgumentParser
import Transport

/// `coordinator keygen`: a CurveZMQ key pair as NAME.key (secret, mode 0600) and NAME.pub.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Writes a new CurveZMQ key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub (public, Z85).",
        discussion: """
            One pair for the coordinator (--curve-secret-key coordinator.key; workers get coordinator.pub) and one \
            per worker (--curve-secret-key worker-N.key; the coordinator lists worker-N.pub in --authorized-keys). \
            Existing files are never overwritten.
            """)

    @Option(help: "Directory to write the key files to (created if missing).")
    var out = "keys"
    @Option(help: "Base name of the key files.")
    var name = "coordinator"

    func run() throws {
        let pair = try CurveKeyPair.generate()
        let (secretPath, publicPath) = try CurveKeyFile.write(pair, directory: out, name: name)
        print("wrote \(secretPath) (secret) and \(publicPath): \(pair.publicKey.z85)")
    }
}
