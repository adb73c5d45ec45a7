import Report
import XCTest

final class MarkupTests: XCTestCase {
    func testEscapesEveryMarkupCharacterAndDropsControlCharacters() {
        XCTAssertEqual(Markup.escape("<script>alert('x')</script> & \"q\""),
                       "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        XCTAssertEqual(Markup.escape("a\u{0}b\u{1B}c\td\ne"), "abc\td\ne")
        XCTAssertEqual(Markup.escape("τ⁺ 0.122"), "τ⁺ 0.122")
    }

    func testNumbers() {
        XCTAssertEqual(Markup.coordinate(12.3456), "12.35")
        XCTAssertEqual(Markup.coordinate(3), "3")
        XCTAssertEqual(Markup.coordinate(.nan), "0")
        XCTAssertEqual(Markup.figure(0.185612), "0.1856")
        XCTAssertEqual(Markup.figure(123_456.7), "123\u{2009}457")
        XCTAssertEqual(Markup.figure(.infinity), "–")
        XCTAssertEqual(Markup.bytes(3 * 1024 * 1024), "3.0 MiB")
        XCTAssertEqual(Markup.duration(125), "2 min 05 s")
    }
}
