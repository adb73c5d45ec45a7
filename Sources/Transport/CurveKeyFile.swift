import Foundation

/// CurveZMQ key files. `NAME.key` holds a secret key (mode 0600) and `NAME.pub` its public key, each as one line
/// of 40 Z85 characters; lines starting with `#` and blank lines are ignored. The authorized keys of a coordinator
/// are a file with one public key per line, or a directory of `*.pub` files.
public enum CurveKeyFile {
    /// The key pair of a secret key file.
    public static func readKeyPair(secretKeyFile path: String) throws(CurveKeyError) -> CurveKeyPair {
        if path.hasSuffix(".pub") {
            throw CurveKeyError("\(path) is a public key file; give the secret key, NAME.key, written beside it by `coordinator keygen`")
        }
        return try keyPair(parsing: contents(of: path), path: path)
    }

    /// The public key of a `.pub` file.
    public static func readPublicKey(_ path: String) throws(CurveKeyError) -> CurveKey {
        try publicKey(parsing: contents(of: path), path: path)
    }

    /// The public keys listed in a file (one per line) or in the `*.pub` files of a directory, each labelled with
    /// where it came from (the file name without `.pub`, or `FILE:LINE`).
    public static func readAuthorizedKeys(_ path: String) throws(CurveKeyError) -> [CurveKey: String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CurveKeyError("\(path): no such file or directory (expected a file of public keys or a directory of *.pub files)")
        }
        var keys: [CurveKey: String] = [:]
        if isDirectory.boolValue {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".pub") }.sorted()
            } catch {
                throw CurveKeyError("\(path): cannot list the directory: \(error.localizedDescription)")
            }
            guard !names.isEmpty else { throw CurveKeyError("\(path): no *.pub files in the directory, so no worker could connect") }
            for name in names {
                keys[try readPublicKey(path + "/" + name)] = String(name.dropLast(4))
            }
        } else {
            keys = try authorizedKeys(parsing: contents(of: path), path: path)
        }
        return keys
    }

    // MARK: Parsing (no file system: `contents` are a file's bytes, `path` names it in errors)

    /// The key pair of a secret key file's contents.
    public static func keyPair(parsing contents: [UInt8], path: String) throws(CurveKeyError) -> CurveKeyPair {
        let (line, text) = try singleKey(in: contents, path: path)
        do {
            return try CurveKeyPair(secretZ85: text)
        } catch {
            throw CurveKeyError("\(path):\(line): not a CURVE secret key: \(error)")
        }
    }

    /// The public key of a `.pub` file's contents.
    public static func publicKey(parsing contents: [UInt8], path: String) throws(CurveKeyError) -> CurveKey {
        let (line, text) = try singleKey(in: contents, path: path)
        do {
            return try CurveKey(z85: text)
        } catch {
            throw CurveKeyError("\(path):\(line): not a CURVE public key: \(error)")
        }
    }

    /// The public keys of an authorized-keys file's contents, one per line, each labelled `PATH:LINE`.
    public static func authorizedKeys(parsing contents: [UInt8], path: String) throws(CurveKeyError) -> [CurveKey: String] {
        var keys: [CurveKey: String] = [:]
        for (line, text) in try keyLines(in: contents, path: path) {
            do {
                keys[try CurveKey(z85: text)] = "\(path):\(line)"
            } catch {
                throw CurveKeyError("\(path):\(line): not a CURVE public key: \(error)")
            }
        }
        guard !keys.isEmpty else { throw CurveKeyError("\(path): lists no public keys, so no worker could connect") }
        return keys
    }

    /// The lines that are neither blank nor comments, with their 1-based numbers, trimmed. Lines end with LF or
    /// CRLF, and a byte-order mark may come first (a file saved by a Windows editor).
    static func keyLines(in contents: [UInt8], path: String) throws(CurveKeyError) -> [(line: Int, text: String)] {
        let body = contents.starts(with: [0xEF, 0xBB, 0xBF]) ? contents.dropFirst(3) : contents[...]
        guard let text = String(validating: body, as: UTF8.self) else { throw CurveKeyError("\(path): not UTF-8 text") }
        var lines: [(Int, String)] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            lines.append((index + 1, line))
        }
        return lines
    }

    /// Writes `DIRECTORY/NAME.key` (mode 0600) and `DIRECTORY/NAME.pub`; refuses to overwrite either.
    /// Returns both paths.
    public static func write(_ pair: CurveKeyPair, directory: String, name: String) throws(CurveKeyError)
        -> (secretKeyFile: String, publicKeyFile: String) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy({ allowed.contains($0) }) else {
            throw CurveKeyError("--name \"\(name)\": use letters, digits, '.', '_' and '-' only")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CurveKeyError("\(directory): cannot create the directory: \(error.localizedDescription)")
        }
        let secretPath = directory + "/" + name + ".key"
        let publicPath = directory + "/" + name + ".pub"
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw CurveKeyError("\(path) exists; not overwriting it (delete it first to replace the key)")
        }
        try create(secretPath, mode: 0o600, text: "# CurveZMQ secret key of \(name): keep it private\n\(pair.secretZ85)\n")
        try create(publicPath, mode: 0o644, text: "\(pair.publicKey.z85)\n")
        return (secretPath, publicPath)
    }

    /// A sentence when a secret key file may be read by its group or by others, nil otherwise.
    public static func permissionWarning(secretKeyFile path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue else { return nil }
        guard mode & 0o077 != 0 else { return nil }
        return "\(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it"
    }

    // MARK: Reading

    /// The bytes of a key file.
    static func contents(of path: String) throws(CurveKeyError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !FileManager.default.fileExists(atPath: path) { throw CurveKeyError("\(path): no such file") }
            throw CurveKeyError("\(path): cannot be read by user id \(getuid()) (check its owner and mode)")
        }
        return [UInt8](data)
    }

    private static func singleKey(in contents: [UInt8], path: String) throws(CurveKeyError) -> (line: Int, text: String) {
        let lines = try keyLines(in: contents, path: path)
        guard lines.count == 1 else {
            throw CurveKeyError("\(path): expected one key (40 Z85 characters on one line), found \(lines.count) non-comment lines")
        }
        return lines[0]
    }

    private static func create(_ path: String, mode: mode_t, text: String) throws(CurveKeyError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw CurveKeyError("\(path): cannot create: \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        // open() applied the umask; the secret key's mode must be exactly what was asked.
        let problem = written != bytes.count ? "cannot write" : fchmod(fd, mode) != 0 ? "cannot set its mode" : nil
        let error = errno
        let closed = Glibc.close(fd) == 0
        if let problem { throw CurveKeyError("\(path): \(problem): \(String(cString: strerror(error)))") }
        guard closed else { throw CurveKeyError("\(path): cannot close: \(String(cString: strerror(errno)))") }
    }
}
