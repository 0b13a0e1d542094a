/// A strict RFC 8259 JSON parser over bytes, standard library only.
///
/// Errors carry the byte offset, line and column, so an importer can say
/// "bundle.json: line 812, column 14: expected ',' or '}'". Nesting is
/// limited (``maxDepth``) so hostile input cannot exhaust the stack.
///
/// ``parseStreaming(_:arrayKey:_:)`` hands the elements of one top-level
/// array (a STIX bundle's `objects`) to a callback one at a time, so memory
/// holds one element rather than the whole document.
package struct JSONParser {
    /// Deepest nesting accepted. Real intel nests a dozen levels; this bounds recursion.
    package static let maxDepth = 256

    private let bytes: [UInt8]
    private var i = 0

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    /// Parses one complete document.
    package static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes)
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.error("unexpected data after the document") }
        return value
    }

    /// Parses a top-level object, calling `element` for each element of the
    /// array under `arrayKey` instead of keeping it; returns the object's
    /// other members. If the document is an array, every element goes to
    /// `element`.
    package static func parseStreaming(
        _ bytes: [UInt8], arrayKey: String, _ element: (JSONValue) throws -> Void
    ) throws -> [(String, JSONValue)] {
        var p = JSONParser(bytes)
        p.skipSpace()
        var members: [(String, JSONValue)] = []
        switch p.peek {
        case UInt8(ascii: "["):
            try p.arrayElements(depth: 0, element)
        case UInt8(ascii: "{"):
            p.i += 1
            p.skipSpace()
            if p.peek == UInt8(ascii: "}") {
                p.i += 1
            } else {
                while true {
                    p.skipSpace()
                    let key = try p.string()
                    p.skipSpace()
                    try p.expect(UInt8(ascii: ":"), "expected ':' after an object key")
                    p.skipSpace()
                    if key == arrayKey, p.peek == UInt8(ascii: "[") {
                        try p.arrayElements(depth: 1, element)
                    } else {
                        members.append((key, try p.value(depth: 1)))
                    }
                    p.skipSpace()
                    if p.peek == UInt8(ascii: ",") { p.i += 1; continue }
                    try p.expect(UInt8(ascii: "}"), "expected ',' or '}' in an object")
                    break
                }
            }
        default:
            throw p.error("expected '{' or '[' at the start of the document")
        }
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.error("unexpected data after the document") }
        return members
    }

    // MARK: Grammar

    private mutating func arrayElements(depth: Int, _ element: (JSONValue) throws -> Void) throws {
        try expect(UInt8(ascii: "["), "expected '['")
        skipSpace()
        if peek == UInt8(ascii: "]") { i += 1; return }
        while true {
            skipSpace()
            try element(try value(depth: depth + 1))
            skipSpace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "]"), "expected ',' or ']' in an array")
            return
        }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        guard let c = peek else { throw error("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if peek == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"), "expected ':' after an object key")
                skipSpace()
                members.append((key, try value(depth: depth + 1)))
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"), "expected ',' or '}' in an object")
                return .object(members)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "]"), "expected ',' or ']' in an array")
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw error("unexpected character \(JSONParser.show(c))")
        }
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        try expect(UInt8(ascii: "\""), "expected a string")
        let start = i
        // Fast path: no escapes.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }
        var out = Array(bytes[start..<i])
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            out.append(contentsOf: JSONParser.utf8(0xFFFD))
                            scalar = low
                        }
                    }
                    out.append(contentsOf: JSONParser.utf8(scalar))
                default:
                    i -= 1
                    throw error("invalid escape \\\(JSONParser.show(e))")
                }
            default:
                guard c >= 0x20 else { throw error("control character in a string") }
                out.append(c)
                i += 1
            }
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private static func utf8(_ scalar: UInt32) -> [UInt8] {
        let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        return Array(String(Character(s)).utf8)
    }

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw error("invalid number") }
        if first == UInt8(ascii: "0") { i += 1 } else { skipDigits() }
        var integral = true
        if peek == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard skipDigits() > 0 else { throw error("invalid number: digits expected after '.'") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            integral = false
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard skipDigits() > 0 else { throw error("invalid number: digits expected in the exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral, let v = Int(text) { return .int(v) }
        guard let d = Double(text) else { throw error("invalid number") }
        return .double(d)
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = i
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
        return i - start
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard i + w.count <= bytes.count, bytes[i..<(i + w.count)].elementsEqual(w) else {
            throw error("invalid literal (expected \(word))")
        }
        i += w.count
    }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ c: UInt8, _ message: String) throws(JSONSyntaxError) {
        guard peek == c else { throw error(peek == nil ? "unexpected end of input: " + message : message) }
        i += 1
    }

    private func error(_ message: String) -> JSONSyntaxError {
        var line = 1, column = 1
        for b in bytes[0..<min(i, bytes.count)] {
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONSyntaxError(offset: i, line: line, column: column, message: message)
    }

    private static func show(_ c: UInt8) -> String {
        c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "0x" + String(c, radix: 16)
    }
}

/// Malformed JSON, with where it went wrong.
package struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    package var offset: Int
    package var line: Int
    package var column: Int
    package var message: String

    package init(offset: Int, line: Int, column: Int, message: String) {
        self.offset = offset
        self.line = line
        self.column = column
        self.message = message
    }

    package var description: String { "malformed JSON at line \(line), column \(column) (byte \(offset)): \(message)" }
}
