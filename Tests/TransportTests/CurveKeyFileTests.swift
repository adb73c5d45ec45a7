import Foundation
import TestSupport
import XCTest
@testable import Transport

final class CurveKeyFileTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        guard ZMQ.has("curve") else { throw TestFailure("libzmq was built without CURVE; this project requires it") }
        directory = NSTemporaryDirectory() + "curve-keys-" + UUID().uuidString
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ name: String, _ text: String) -> String {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "cannot create \(path)")
        return path
    }

    private func message(of body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testWrittenKeysReadBackWithASecretFileOnlyItsOwnerReads() throws {
        let pair = try CurveKeyPair.generate()
        let (secretPath, publicPath) = try CurveKeyFile.write(pair, directory: directory, name: "worker-1")
        XCTAssertEqual(secretPath, directory + "/worker-1.key")
        XCTAssertEqual(publicPath, directory + "/worker-1.pub")
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: secretPath)[.posixPermissions] as? NSNumber)
        XCTAssertEqual(mode.intValue, 0o600)
        XCTAssertNil(CurveKeyFile.permissionWarning(secretKeyFile: secretPath))
        XCTAssertEqual(try CurveKeyFile.readKeyPair(secretKeyFile: secretPath), pair)
        XCTAssertEqual(try CurveKeyFile.readPublicKey(publicPath), pair.publicKey)
        XCTAssertEqual(try CurveKeyFile.readAuthorizedKeys(directory), [pair.publicKey: "worker-1"])
        XCTAssertFalse(try String(contentsOfFile: publicPath, encoding: .utf8).contains(pair.secretZ85))
        XCTAssertFalse("\(pair)".contains(pair.secretZ85), "a key pair's description must not show the secret")
    }

    func testKeysAreNeverOverwritten() throws {
        let pair = try CurveKeyPair.generate()
        _ = try CurveKeyFile.write(pair, directory: directory, name: "c")
        XCTAssertEqual(message { try CurveKeyFile.write(try CurveKeyPair.generate(), directory: directory, name: "c") },
                       "\(directory)/c.key exists; not overwriting it (delete it first to replace the key)")
        XCTAssertEqual(try CurveKeyFile.readKeyPair(secretKeyFile: directory + "/c.key"), pair)
        XCTAssertTrue(message { try CurveKeyFile.write(pair, directory: directory, name: "../x") }.hasPrefix("--name"))
    }

    func testMalformedKeyFilesNameTheFileAndLine() throws {
        let short = write("short.pub", "# comment\n\nabc\n")
        XCTAssertEqual(message { try CurveKeyFile.readPublicKey(short) },
                       "\(short):3: not a CURVE public key: expected 40 characters of Z85, got 3")
        let bad = write("bad.key", String(repeating: "\"", count: 40) + "\n")
        XCTAssertEqual(message { try CurveKeyFile.readKeyPair(secretKeyFile: bad) },
                       "\(bad):1: not a CURVE secret key: not valid Z85 text: U+22 is not a Z85 character")
        let two = write("two.pub", "\(try CurveKeyPair.generate().publicKey.z85)\n\(try CurveKeyPair.generate().publicKey.z85)\n")
        XCTAssertTrue(message { try CurveKeyFile.readPublicKey(two) }.hasSuffix("expected one key (40 Z85 characters on one line), found 2 non-comment lines"))
        XCTAssertEqual(message { try CurveKeyFile.readPublicKey(directory + "/missing.pub") }, "\(directory)/missing.pub: no such file")
        XCTAssertTrue(message { try CurveKeyFile.readKeyPair(secretKeyFile: two) }.hasSuffix("is a public key file; give the secret key, NAME.key, written beside it by `coordinator keygen`"))
        XCTAssertTrue(message { try CurveKeyFile.readAuthorizedKeys(directory + "/nothing") }.contains("no such file or directory"))
    }

    func testAuthorizedKeysFileListsOneKeyPerLine() throws {
        let a = try CurveKeyPair.generate().publicKey, b = try CurveKeyPair.generate().publicKey
        let path = write("authorized", "# workers\n\(a.z85)\n\n  \(b.z85)  \n")
        XCTAssertEqual(try CurveKeyFile.readAuthorizedKeys(path), [a: "\(path):2", b: "\(path):4"])
        let broken = write("broken", "\(a.z85)\nnot-a-key\n")
        XCTAssertEqual(message { try CurveKeyFile.readAuthorizedKeys(broken) },
                       "\(broken):2: not a CURVE public key: expected 40 characters of Z85, got 9")
        let empty = write("empty", "# nobody\n")
        XCTAssertEqual(message { try CurveKeyFile.readAuthorizedKeys(empty) }, "\(empty): lists no public keys, so no worker could connect")
    }

    /// libzmq decodes a C string: a NUL inside the 40 characters used to end the key there and decode the rest as
    /// zeros, so a file holding a corrupt key was read as a different, mostly-zero key.
    func testANulOrOtherNonZ85CharacterInAKeyIsRefused() throws {
        let key = try CurveKeyPair.generate().publicKey.z85
        for bad in ["\u{0}", "~", "é", " "] {
            let text = String(key.prefix(20)) + bad + String(key.dropFirst(20 + bad.utf8.count))
            XCTAssertTrue(message { try CurveKeyFile.publicKey(parsing: Array("\(text)\n".utf8), path: "k.pub") }
                .hasPrefix("k.pub:1: not a CURVE public key: "), "\(bad.unicodeScalars.first!.value)")
            XCTAssertThrowsError(try CurveKey(z85: text))
        }
        let nul = String(key.prefix(20)) + "\u{0}" + String(key.dropFirst(21))
        XCTAssertEqual(message { try CurveKey(z85: nul) }, "not valid Z85 text: U+0 is not a Z85 character")
        XCTAssertEqual(try CurveKey(z85: key).z85, key)
    }

    /// Key files written on Windows end their lines with CRLF and may start with a byte-order mark; the line
    /// numbers stay right.
    func testCRLFLineEndsAreRead() throws {
        let a = try CurveKeyPair.generate(), b = try CurveKeyPair.generate().publicKey
        let secret = write("crlf.key", "# secret\r\n\(a.secretZ85)\r\n")
        XCTAssertEqual(try CurveKeyFile.readKeyPair(secretKeyFile: secret), a)
        XCTAssertEqual(try CurveKeyFile.authorizedKeys(parsing: Array("# workers\r\n\(a.publicKey.z85)\r\n\r\n\(b.z85)\r\n".utf8),
                                                       path: "auth"),
                       [a.publicKey: "auth:2", b: "auth:4"])
        XCTAssertEqual(try CurveKeyFile.publicKey(parsing: [0xEF, 0xBB, 0xBF] + Array("\(b.z85)\r\n".utf8), path: "bom.pub"), b)
        XCTAssertEqual(message { try CurveKeyFile.publicKey(parsing: [0xFF, 0x0A], path: "x.pub") }, "x.pub: not UTF-8 text")
    }

    func testADirectoryWithoutPublicKeysIsAnError() throws {
        _ = write("readme.txt", "hi")
        XCTAssertEqual(message { try CurveKeyFile.readAuthorizedKeys(directory) },
                       "\(directory): no *.pub files in the directory, so no worker could connect")
    }

    func testLooseSecretKeyModeIsWarnedAbout() throws {
        let pair = try CurveKeyPair.generate()
        let path = write("loose.key", pair.secretZ85 + "\n")
        chmod(path, 0o644)
        XCTAssertEqual(CurveKeyFile.permissionWarning(secretKeyFile: path), "\(path) is readable by others (mode 644); chmod 600 it")
        XCTAssertEqual(try CurveKeyFile.readKeyPair(secretKeyFile: path), pair)
    }

    func testZAPDecisions() throws {
        let listed = try CurveKeyPair.generate().publicKey, other = try CurveKeyPair.generate().publicKey
        let base: [[UInt8]] = ["1.0", "id7", "d", "10.0.0.9", "", "CURVE"].map { Array($0.utf8) }
        let ok = ZAPHandler.decide(base + [listed.bytes], authorized: [listed: "w1"])
        XCTAssertEqual(ok.status, .admitted)
        XCTAssertEqual(ok.reply, ["1.0", "id7", "200", "OK", "w1", ""].map { Array($0.utf8) })
        let unlisted = ZAPHandler.decide(base + [other.bytes], authorized: [listed: "w1"])
        XCTAssertEqual(unlisted.status, .refused)
        XCTAssertEqual(unlisted.clientKey, other)
        XCTAssertEqual(unlisted.address, "10.0.0.9")
        XCTAssertEqual(unlisted.reply[2], Array("400".utf8))
        let null = ZAPHandler.decide(Array(base.dropLast()) + [Array("NULL".utf8)], authorized: [listed: "w1"])
        XCTAssertEqual(null.status, .refused)
        XCTAssertNil(null.clientKey)
        let malformed = ZAPHandler.decide([Array("2.0".utf8), Array("x".utf8)], authorized: [:])
        XCTAssertEqual(malformed.status, .malformed)
        XCTAssertEqual(malformed.reply[1], Array("x".utf8))
        XCTAssertEqual(malformed.reply[2], Array("500".utf8))
    }

    func testLogThrottleLetsOneLinePerKeyThroughPerPeriod() {
        var throttle = LogThrottle(seconds: 10)
        XCTAssertTrue(throttle.allow("a", now: 0).0)
        XCTAssertFalse(throttle.allow("a", now: 1).0)
        XCTAssertFalse(throttle.allow("a", now: 2).0)
        XCTAssertTrue(throttle.allow("b", now: 2).0)
        let later = throttle.allow("a", now: 11)
        XCTAssertTrue(later.0)
        XCTAssertEqual(later.suppressed, 2)
    }
}
