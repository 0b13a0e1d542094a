import TelemetryModel

/// The STIX 2.1 patterning language (STIX 2.1 §9), parsed into a tree.
///
/// ```
/// pattern      := obsOr (FOLLOWEDBY obsOr)*
/// obsOr        := obsAnd (OR obsAnd)*
/// obsAnd       := obs (AND obs)*
/// obs          := ('[' compOr ']' | '(' pattern ')') qualifier*
/// qualifier    := WITHIN n SECONDS | REPEATS n TIMES | START t'…' STOP t'…'
/// compOr       := compAnd (OR compAnd)*
/// compAnd      := test (AND test)*
/// test         := '(' compOr ')' | EXISTS path | path NOT? op literal | path NOT? IN '(' literal, … ')'
/// op           := = | != | <> | < | <= | > | >= | LIKE | MATCHES | ISSUBSET | ISSUPERSET
/// ```
package indirect enum STIXPattern: Equatable, Sendable {
    case observation(STIXComparison, qualifiers: [String])
    case and([STIXPattern])
    case or([STIXPattern])
    case followedBy([STIXPattern])
}

package indirect enum STIXComparison: Equatable, Sendable {
    case test(path: STIXObjectPath, negated: Bool, op: String, values: [STIXLiteral])
    case exists(STIXObjectPath)
    case and([STIXComparison])
    case or([STIXComparison])
}

/// `file:hashes.'SHA-256'` → type `file`, components `["hashes", "SHA-256"]`.
package struct STIXObjectPath: Equatable, Sendable, CustomStringConvertible {
    package var objectType: String
    package var components: [String]

    package var description: String { objectType + ":" + components.joined(separator: ".") }
}

package enum STIXLiteral: Equatable, Sendable {
    case string(String)
    case int(Int)
    case float(Double)
    case bool(Bool)
    case timestamp(String)
    case binary(String)
    case hex(String)

    package var text: String {
        switch self {
        case .string(let s), .timestamp(let s), .binary(let s), .hex(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        }
    }
}

package struct STIXPatternError: Error, Equatable, CustomStringConvertible {
    package var position: Int
    package var message: String
    package var description: String { "STIX pattern error at \(position): \(message)" }
}

extension STIXPattern {
    /// Longest pattern parsed; a real indicator pattern is a few hundred bytes.
    package static let maxLength = 65_536
    /// Deepest parenthesis nesting accepted.
    package static let maxDepth = 64

    package static func parse(_ text: String) throws(STIXPatternError) -> STIXPattern {
        guard text.utf8.count <= maxLength else { throw STIXPatternError(position: 0, message: "pattern longer than \(maxLength) bytes") }
        var parser = STIXPatternParser(tokens: try STIXPatternLexer.tokens(text))
        let pattern = try parser.pattern(depth: 0)
        guard parser.atEnd else { throw parser.error("unexpected \(parser.describeCurrent) after the pattern") }
        return pattern
    }
}

// MARK: Lexer

enum STIXToken: Equatable {
    case word(String)          // keywords, object types, path components
    case quoted(String)        // 'string' (escapes resolved)
    case prefixed(Character, String)  // t'…', h'…', b'…'
    case number(String)
    case symbol(String)        // [ ] ( ) , : . = != <> < <= > >=
}

enum STIXPatternLexer {
    static func tokens(_ text: String) throws(STIXPatternError) -> [(STIXToken, Int)] {
        let b = Array(text.utf8)
        var out: [(STIXToken, Int)] = []
        var i = 0
        func isWordByte(_ c: UInt8) -> Bool {
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D
        }
        func quoted(from start: Int) throws(STIXPatternError) -> (String, Int) {
            var j = start + 1
            var s: [UInt8] = []
            while j < b.count {
                if b[j] == 0x5C, j + 1 < b.count, b[j + 1] == 0x27 || b[j + 1] == 0x5C {
                    s.append(b[j + 1])
                    j += 2
                } else if b[j] == 0x27 {
                    return (String(decoding: s, as: UTF8.self), j + 1)
                } else {
                    s.append(b[j])
                    j += 1
                }
            }
            throw STIXPatternError(position: start, message: "unterminated string")
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D:
                i += 1
            case 0x27:
                let (s, next) = try quoted(from: i)
                out.append((.quoted(s), i))
                i = next
            case 0x5B, 0x5D, 0x28, 0x29, 0x2C, 0x3A, 0x2E, 0x2A:
                out.append((.symbol(String(UnicodeScalar(c))), i))
                i += 1
            case 0x3D:
                out.append((.symbol("="), i))
                i += 1
            case 0x21:
                guard i + 1 < b.count, b[i + 1] == 0x3D else { throw STIXPatternError(position: i, message: "'!' must be '!='") }
                out.append((.symbol("!="), i))
                i += 2
            case 0x3C, 0x3E:
                if i + 1 < b.count, b[i + 1] == 0x3D {
                    out.append((.symbol(c == 0x3C ? "<=" : ">="), i))
                    i += 2
                } else if c == 0x3C, i + 1 < b.count, b[i + 1] == 0x3E {
                    out.append((.symbol("!="), i))
                    i += 2
                } else {
                    out.append((.symbol(c == 0x3C ? "<" : ">"), i))
                    i += 1
                }
            case _ where (c == 0x74 || c == 0x68 || c == 0x62) && i + 1 < b.count && b[i + 1] == 0x27:
                let (s, next) = try quoted(from: i + 1)
                out.append((.prefixed(Character(UnicodeScalar(c)), s), i))
                i = next
            case _ where (c >= 0x30 && c <= 0x39) || (c == 0x2D && i + 1 < b.count && b[i + 1] >= 0x30 && b[i + 1] <= 0x39) || c == 0x2B:
                let start = i
                i += 1
                while i < b.count, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == 0x2E || b[i] == 0x65 || b[i] == 0x45 { i += 1 }
                out.append((.number(String(decoding: b[start..<i], as: UTF8.self)), start))
            case _ where isWordByte(c):
                let start = i
                while i < b.count, isWordByte(b[i]) { i += 1 }
                out.append((.word(String(decoding: b[start..<i], as: UTF8.self)), start))
            default:
                throw STIXPatternError(position: i, message: "unexpected character")
            }
        }
        return out
    }
}

// MARK: Parser

struct STIXPatternParser {
    let tokens: [(STIXToken, Int)]
    var k = 0

    init(tokens: [(STIXToken, Int)]) { self.tokens = tokens }

    var atEnd: Bool { k >= tokens.count }
    var current: STIXToken? { atEnd ? nil : tokens[k].0 }
    var describeCurrent: String {
        switch current {
        case nil: return "end of pattern"
        case .word(let w)?: return "'\(w)'"
        case .symbol(let s)?: return "'\(s)'"
        case .quoted?: return "a string"
        case .prefixed?: return "a typed literal"
        case .number(let n)?: return "'\(n)'"
        }
    }

    func error(_ message: String) -> STIXPatternError {
        STIXPatternError(position: atEnd ? (tokens.last?.1 ?? 0) : tokens[k].1, message: message)
    }

    func isKeyword(_ word: String) -> Bool {
        if case .word(let w)? = current { return w.uppercased() == word }
        return false
    }

    func isSymbol(_ s: String) -> Bool { current == .symbol(s) }

    mutating func expectSymbol(_ s: String) throws(STIXPatternError) {
        guard isSymbol(s) else { throw error("expected '\(s)' but found \(describeCurrent)") }
        k += 1
    }

    /// `item (KEYWORD item)*`, combined when there is more than one.
    mutating func joined<T>(
        by keyword: String, _ item: (inout STIXPatternParser) throws(STIXPatternError) -> T, _ combine: ([T]) -> T
    ) throws(STIXPatternError) -> T {
        var parts = [try item(&self)]
        while isKeyword(keyword) {
            k += 1
            parts.append(try item(&self))
        }
        return parts.count == 1 ? parts[0] : combine(parts)
    }

    mutating func pattern(depth: Int) throws(STIXPatternError) -> STIXPattern {
        guard depth <= STIXPattern.maxDepth else { throw error("nesting too deep") }
        return try joined(by: "FOLLOWEDBY", { (p: inout STIXPatternParser) throws(STIXPatternError) in
            try p.joined(by: "OR", { (p: inout STIXPatternParser) throws(STIXPatternError) in
                try p.joined(by: "AND", { (p: inout STIXPatternParser) throws(STIXPatternError) in try p.observation(depth: depth) }, STIXPattern.and)
            }, STIXPattern.or)
        }, STIXPattern.followedBy)
    }

    mutating func observation(depth: Int) throws(STIXPatternError) -> STIXPattern {
        var result: STIXPattern
        if isSymbol("[") {
            k += 1
            let comparison = try comparisonOr(depth: depth + 1)
            try expectSymbol("]")
            result = .observation(comparison, qualifiers: [])
        } else if isSymbol("(") {
            k += 1
            result = try pattern(depth: depth + 1)
            try expectSymbol(")")
        } else {
            throw error("expected '[' or '(' but found \(describeCurrent)")
        }
        var qualifiers: [String] = []
        while true {
            if isKeyword("WITHIN") {
                k += 1
                guard case .number(let n)? = current else { throw error("WITHIN needs a number") }
                k += 1
                guard isKeyword("SECONDS") else { throw error("expected SECONDS") }
                k += 1
                qualifiers.append("WITHIN \(n) SECONDS")
            } else if isKeyword("REPEATS") {
                k += 1
                guard case .number(let n)? = current else { throw error("REPEATS needs a number") }
                k += 1
                guard isKeyword("TIMES") else { throw error("expected TIMES") }
                k += 1
                qualifiers.append("REPEATS \(n) TIMES")
            } else if isKeyword("START") {
                k += 1
                guard case .prefixed("t", let start)? = current else { throw error("START needs t'…'") }
                k += 1
                guard isKeyword("STOP") else { throw error("expected STOP") }
                k += 1
                guard case .prefixed("t", let stop)? = current else { throw error("STOP needs t'…'") }
                k += 1
                qualifiers.append("START \(start) STOP \(stop)")
            } else {
                break
            }
        }
        if !qualifiers.isEmpty {
            if case .observation(let c, let q) = result { result = .observation(c, qualifiers: q + qualifiers) }
        }
        return result
    }

    mutating func comparisonOr(depth: Int) throws(STIXPatternError) -> STIXComparison {
        try joined(by: "OR", { (p: inout STIXPatternParser) throws(STIXPatternError) in
            try p.joined(by: "AND", { (p: inout STIXPatternParser) throws(STIXPatternError) in try p.test(depth: depth) }, STIXComparison.and)
        }, STIXComparison.or)
    }

    mutating func test(depth: Int) throws(STIXPatternError) -> STIXComparison {
        guard depth <= STIXPattern.maxDepth else { throw error("nesting too deep") }
        if isSymbol("(") {
            k += 1
            let inner = try comparisonOr(depth: depth + 1)
            try expectSymbol(")")
            return inner
        }
        if isKeyword("EXISTS") {
            k += 1
            return .exists(try objectPath())
        }
        let path = try objectPath()
        var negated = false
        if isKeyword("NOT") {
            negated = true
            k += 1
        }
        if isKeyword("IN") {
            k += 1
            try expectSymbol("(")
            var values: [STIXLiteral] = [try literal()]
            while isSymbol(",") {
                k += 1
                values.append(try literal())
            }
            try expectSymbol(")")
            return .test(path: path, negated: negated, op: "IN", values: values)
        }
        let op: String
        switch current {
        case .symbol(let s)? where ["=", "!=", "<", "<=", ">", ">="].contains(s): op = s
        case .word(let w)? where ["LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"].contains(w.uppercased()): op = w.uppercased()
        default: throw error("expected a comparison operator but found \(describeCurrent)")
        }
        k += 1
        return .test(path: path, negated: negated, op: op, values: [try literal()])
    }

    mutating func objectPath() throws(STIXPatternError) -> STIXObjectPath {
        guard case .word(let type)? = current else { throw error("expected an object type but found \(describeCurrent)") }
        k += 1
        try expectSymbol(":")
        var components: [String] = []
        func component(_ parser: inout STIXPatternParser) throws(STIXPatternError) -> String {
            switch parser.current {
            case .word(let w)?: parser.k += 1; return w
            case .quoted(let q)?: parser.k += 1; return q
            default: throw parser.error("expected a property name but found \(parser.describeCurrent)")
            }
        }
        components.append(try component(&self))
        while true {
            if isSymbol(".") {
                k += 1
                components.append(try component(&self))
            } else if isSymbol("[") {
                // List index `[0]` or `[*]`.
                k += 1
                switch current {
                case .number(let n)?: components.append("[\(n)]")
                case .symbol("*")?: components.append("[*]")
                default: throw error("expected a list index or '*' but found \(describeCurrent)")
                }
                k += 1
                try expectSymbol("]")
            } else {
                break
            }
        }
        return STIXObjectPath(objectType: type, components: components)
    }

    mutating func literal() throws(STIXPatternError) -> STIXLiteral {
        defer { k += 1 }
        switch current {
        case .quoted(let s)?: return .string(s)
        case .prefixed("t", let s)?: return .timestamp(s)
        case .prefixed("h", let s)?: return .hex(s)
        case .prefixed("b", let s)?: return .binary(s)
        case .number(let n)?:
            if let i = Int(n) { return .int(i) }
            if let d = Double(n) { return .float(d) }
            throw error("bad number")
        case .word(let w)? where w.lowercased() == "true" || w.lowercased() == "false":
            return .bool(w.lowercased() == "true")
        default:
            throw error("expected a literal but found \(describeCurrent)")
        }
    }
}

// MARK: Literal extraction

/// The indicator values a pattern reduces to, when it is a disjunction of
/// literal equalities; what could not be used is counted by reason.
package struct STIXExtraction: Equatable, Sendable {
    package var values: [(kind: IndicatorKind, raw: String)]
    /// Reasons for parts that were not usable (`stix_pattern_and`,
    /// `unsupported_observable:x509-certificate:issuer`, …).
    package var unsupported: [String]

    package static func == (lhs: STIXExtraction, rhs: STIXExtraction) -> Bool {
        lhs.values.map { "\($0.kind):\($0.raw)" } == rhs.values.map { "\($0.kind):\($0.raw)" } && lhs.unsupported == rhs.unsupported
    }
}

extension STIXPattern {
    /// A match of any extracted value is a match of the pattern: ORs are
    /// unions; an AND of observations (or FOLLOWEDBY) needs several things
    /// at once and is not a single literal. Inside one observation, an AND
    /// of one file's properties keeps its hashes (each identifies the file).
    /// Qualifiers (WITHIN, REPEATS, START/STOP) narrow when a match counts;
    /// one sighting of the literal is still evidence, so they are kept aside.
    package var extraction: STIXExtraction {
        var out = STIXExtraction(values: [], unsupported: [])
        collect(into: &out)
        return out
    }

    private func collect(into out: inout STIXExtraction) {
        switch self {
        case .observation(let comparison, _):
            comparison.collect(into: &out)
        case .or(let parts):
            for p in parts { p.collect(into: &out) }
        case .and, .followedBy:
            out.unsupported.append("stix_pattern_and")
        }
    }
}

extension STIXComparison {
    func collect(into out: inout STIXExtraction) {
        switch self {
        case .or(let parts):
            for p in parts { p.collect(into: &out) }
        case .and(let parts):
            // Same-file hash conjunctions keep their hashes; anything else is a conjunction.
            var hashes = STIXExtraction(values: [], unsupported: [])
            for p in parts {
                if case .test(let path, false, _, _) = p, path.objectType == "file", path.components.first?.lowercased() == "hashes" {
                    p.collect(into: &hashes)
                }
            }
            if hashes.values.isEmpty {
                out.unsupported.append("stix_pattern_and")
            } else {
                out.values += hashes.values
                out.unsupported += hashes.unsupported
            }
        case .exists(let path):
            out.unsupported.append("unsupported_operator:EXISTS \(path)")
        case .test(let path, let negated, let op, let values):
            guard !negated, op == "=" || op == "IN" else {
                out.unsupported.append("unsupported_operator:\(negated ? "NOT " : "")\(op)")
                return
            }
            guard let kind = STIXComparison.kind(of: path) else {
                out.unsupported.append("unsupported_observable:\(path)")
                return
            }
            for value in values {
                guard case .string(var raw) = value else {
                    out.unsupported.append("unsupported_literal:\(path)")
                    continue
                }
                var k = kind
                if (kind == .ipv4 || kind == .ipv6), raw.contains("/") {
                    k = .cidr
                    // A /32 (or /128) network is a single address.
                    if raw.hasSuffix(kind == .ipv4 ? "/32" : "/128") {
                        raw = String(raw.prefix(while: { $0 != "/" }))
                        k = kind
                    }
                }
                out.values.append((k, raw))
            }
        }
    }

    /// Object paths whose value is one of Geneva's indicator kinds.
    static func kind(of path: STIXObjectPath) -> IndicatorKind? {
        let c = path.components.map { $0.lowercased() }
        switch (path.objectType, c) {
        case ("domain-name", ["value"]): return .domain
        case ("ipv4-addr", ["value"]): return .ipv4
        case ("ipv6-addr", ["value"]): return .ipv6
        case ("url", ["value"]): return .url
        case ("email-addr", ["value"]): return .email
        case ("email-message", ["from_ref", "value"]), ("email-message", ["sender_ref", "value"]): return .email
        case ("file", ["hashes", "md5"]): return .md5
        case ("file", ["hashes", "sha-1"]), ("file", ["hashes", "sha1"]): return .sha1
        case ("file", ["hashes", "sha-256"]), ("file", ["hashes", "sha256"]): return .sha256
        default: return nil
        }
    }
}
