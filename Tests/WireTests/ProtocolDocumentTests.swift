import TestSupport
import Wire
import XCTest

/// docs/PROTOCOL.md's tables of numbers that cross the network, checked against the code's.
final class ProtocolDocumentTests: XCTestCase {
    private func document() throws -> DocumentFile { try DocumentFile("PROTOCOL.md") }

    /// "helloThere" → "HELLO_THERE"; the document writes message names in capitals.
    private func capitals(_ name: String) -> String {
        name.reduce(into: "") { out, c in out += c.isUppercase ? "_\(c)" : c.uppercased() }
    }

    func testTheTagTableListsEveryMessageTag() throws {
        let rows = try document().table(header: "| tag | name | direction |")
        let documented = rows.map { "\($0[0]) \($0[1])" }
        let code = MessageTag.allCases.map { "\($0.rawValue) \(capitals(String(describing: $0)))" }
        XCTAssertEqual(documented, code)
        let tags = MessageTag.allCases.map { String($0.rawValue) }.joined(separator: ", ")
        XCTAssertTrue(try document().lines.contains { $0.hasSuffix("5. the tag is one of \(tags);") }, "the receive checks name the tags")
    }

    func testTheReasonCodesAreTheCodes() throws {
        let doc = try document()
        guard let line = doc.lines.first(where: { $0.hasPrefix("Reasons — RESET:") }) else {
            return XCTFail("no \"Reasons — RESET:\" line in \(doc.path)")
        }
        let reset = ResetReason.allCases.map { "`\($0.rawValue)` \($0)" }.joined(separator: ", ")
        let shutdown = ShutdownReason.allCases.map { "`\($0.rawValue)` \($0)" }.joined(separator: ", ")
        XCTAssertTrue(line.contains("RESET: \(reset)."), line)
        XCTAssertTrue(line.contains("SHUTDOWN: \(shutdown)."), line)
        // The REJECT codes follow in the same paragraph, which may wrap.
        guard let start = doc.lines.firstIndex(of: line) else { return }
        let next = doc.lines[(start + 1)...].prefix { !$0.isEmpty }.joined(separator: " ")
        let reject = RejectReason.allCases.map { "`\($0.rawValue)` \($0)" }.joined(separator: ", ")
        XCTAssertTrue(next.contains("REJECT: \(reject)."), next)
    }
}
