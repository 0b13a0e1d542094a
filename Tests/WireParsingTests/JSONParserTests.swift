import GenevaTestSupport
import Testing
import WireParsing

@Suite struct JSONParserTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func parsesAllValueKindsAndKeepsKeyOrder() throws {
        let v = try parse(#" {"b": [1, -2.5e3, true, false, null], "a": {"x": "y"}, "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#)
        #expect(v.members?.map(\.0) == ["b", "a", "s"])
        #expect(v["b"] == .array([.int(1), .double(-2500), .bool(true), .bool(false), .null]))
        #expect(v["a"]?["x"]?.string == "y")
        #expect(v["s"]?.string == "q\"\\/\u{8}\u{c}\n\r\té😀")
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object([]))
        #expect(try parse("0") == .int(0))
    }

    @Test func roundTripsThroughTheSerializer() throws {
        let v = try parse(#"{"k":["a\u0001",{"n":-0.5}],"t":true}"#)
        #expect(try parse(v.serialized()) == v)
        #expect(try parse(v.serialized(pretty: true)) == v)
    }

    @Test(arguments: [
        ("{\"a\": 1,}", 1, 9), ("[1 2]", 1, 4), ("{\"a\" 1}", 1, 6), ("\"abc", 1, 5), ("{\n  \"a\": tru\n}", 2, 8),
        ("[01]", 1, 3), ("[1.]", 1, 4), ("\"\\x\"", 1, 3), ("{} {}", 1, 4), ("", 1, 1), ("[\"a\u{1}\"]", 1, 4),
    ])
    func errorsSayWhere(text: String, line: Int, column: Int) {
        do {
            _ = try parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try parse(fine) }
    }

    @Test func streamingHandsOverTheArrayElementsOneByOne() throws {
        let text = #"{"type": "bundle", "objects": [{"id": 1}, {"id": 2}, [3]], "id": "bundle--x"}"#
        var seen: [JSONValue] = []
        let rest = try JSONParser.parseStreaming(Array(text.utf8), arrayKey: "objects") { seen.append($0) }
        #expect(seen == [.object([("id", .int(1))]), .object([("id", .int(2))]), .array([.int(3)])])
        #expect(rest.map(\.0) == ["type", "id"])
        var top: [JSONValue] = []
        _ = try JSONParser.parseStreaming(Array("[1, 2]".utf8), arrayKey: "objects") { top.append($0) }
        #expect(top == [.int(1), .int(2)])
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parseStreaming(Array(#"{"objects": [1, }"#.utf8), arrayKey: "objects") { _ in } }
    }

    @Test func randomGarbageNeverTraps() {
        var rng = SeededGenerator(seed: 5)
        let alphabet = Array(#"{}[]",:0123456789.-eE truefalsn\u"#.utf8)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...60, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            _ = try? JSONParser.parse(bytes)
        }
    }
}
