@testable import StatSinkQueue
import Testing

@Suite("headers column")
struct HeadersColumnTests {
    @Test func roundTripsEscapesControlCharactersAndNonASCII() {
        let headers: [(name: String, value: String)] = [
            ("content-type", "application/json"),
            ("quote\"back\\slash", "tab\tnew\nline\r\u{1}\u{8}\u{C}"),
            ("ünïcødé", "日本語 🚀"),
            ("", ""),
        ]
        let decoded = HeadersColumn.decode(HeadersColumn.encode(headers))
        #expect(decoded?.map(\.name) == headers.map(\.name))
        #expect(decoded?.map(\.value) == headers.map(\.value))
    }

    @Test func readsJSONEscapesAndSpacingEncodeNeverWrites() {
        let decoded = HeadersColumn.decode(#" [ ["a\/b", "\u00e9\"x\""] , ["c","d"] ] "#)
        #expect(decoded?.map(\.name) == ["a/b", "c"])
        #expect(decoded?.map(\.value) == ["é\"x\"", "d"])
        #expect(HeadersColumn.decode("[]")?.isEmpty == true)
    }

    @Test func refusesMalformedText() {
        for text in ["", "[", "[[\"a\",\"b\"]", "[[\"a\"]]", "[[\"a\",\"b\"]]x", "[[\"a\\q\",\"b\"]]", "[[\"a\\u12\",\"b\"]]", "[[\"a\\ud800\",\"b\"]]", "[[\"a,\"b\"]]"] {
            #expect(HeadersColumn.decode(text) == nil, "\(text)")
        }
    }
}
