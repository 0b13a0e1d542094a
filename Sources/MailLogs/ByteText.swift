/// Small byte-level text helpers for log lines: the parsers never turn a
/// whole line into a `String`, only the values they keep.
enum ByteText {
    /// Index of the first occurrence of `needle` in `hay`, or `nil`.
    @inline(__always)
    static func find(_ needle: StaticString, in hay: ArraySlice<UInt8>, from start: Int? = nil) -> Int? {
        let n = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard let first = n.first else { return start ?? hay.startIndex }
        var i = start ?? hay.startIndex
        let last = hay.endIndex - n.count
        while i <= last {
            if hay[i] == first {
                var j = 1
                while j < n.count, hay[i + j] == n[j] { j += 1 }
                if j == n.count { return i }
            }
            i += 1
        }
        return nil
    }

    @inline(__always)
    static func hasPrefix(_ hay: ArraySlice<UInt8>, _ prefix: StaticString) -> Bool {
        let p = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard hay.count >= p.count else { return false }
        var i = 0
        while i < p.count {
            if hay[hay.startIndex + i] != p[i] { return false }
            i += 1
        }
        return true
    }

    /// Whether the bytes just before `index` are `suffix`.
    @inline(__always)
    static func endsBefore(_ hay: ArraySlice<UInt8>, _ index: Int, _ suffix: StaticString) -> Bool {
        let s = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        guard index - hay.startIndex >= s.count else { return false }
        var i = 0
        while i < s.count {
            if hay[index - s.count + i] != s[i] { return false }
            i += 1
        }
        return true
    }

    static func string(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// `<…>` values after every `key` (e.g. `to=<`), as slices without the brackets.
    static func angleValues(after key: StaticString, in hay: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var from = hay.startIndex
        let keyLength = key.utf8CodeUnitCount
        while let at = find(key, in: hay, from: from) {
            // The key must start a word: `to=<` must not match inside `orig_to=<`.
            let wordStart = at == hay.startIndex || hay[at - 1] == 0x20 || hay[at - 1] == 0x2C
            let start = at + keyLength
            guard let close = hay[start...].firstIndex(of: UInt8(ascii: ">")) else { break }
            if wordStart { out.append(hay[start..<close]) }
            from = close
        }
        return out
    }

    /// The bracketed text `[…]` starting at `open`, and the index after `]`.
    static func bracket(at open: Int, in hay: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, Int)? {
        guard open < hay.endIndex, hay[open] == UInt8(ascii: "["),
            let close = hay[(open + 1)...].firstIndex(of: UInt8(ascii: "]"))
        else { return nil }
        return (hay[(open + 1)..<close], close + 1)
    }

    @inline(__always)
    static func isHostByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x5F
    }

    /// Postfix / Sendmail queue ids: letters and digits, with a digit or all
    /// upper case (so `warning:` or `ruleset:` never pass for one).
    static func isQueueID(_ s: ArraySlice<UInt8>, minLength: Int) -> Bool {
        guard s.count >= minLength, s.count <= 20 else { return false }
        var digit = false, lower = false
        for c in s {
            switch c {
            case 0x30...0x39: digit = true
            case 0x41...0x5A: break
            case 0x61...0x7A: lower = true
            default: return false
            }
        }
        return digit || !lower
    }

    /// Contents of the first `[…]` that is not inside `(…)`.
    static func firstBracketOutsideParentheses(in s: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var depth = 0
        var i = s.startIndex
        while i < s.endIndex {
            switch s[i] {
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"): depth = max(0, depth - 1)
            case UInt8(ascii: "[") where depth == 0:
                return bracket(at: i, in: s)?.0
            default: break
            }
            i += 1
        }
        return nil
    }

    /// An unbracketed address right after `key` (`… to address 192.0.2.44: …`).
    static func plainAddress(after key: StaticString, in s: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let k = find(key, in: s) else { return nil }
        let start = k + key.utf8CodeUnitCount
        var end = start
        while end < s.endIndex, s[end] == 0x2E || s[end] == 0x3A || (s[end] >= 0x30 && s[end] <= 0x39)
            || (s[end] >= 0x61 && s[end] <= 0x66) || (s[end] >= 0x41 && s[end] <= 0x46) { end += 1 }
        // A trailing ':' belongs to the message (`…192.0.2.44: Name or service not known`).
        while end > start, s[end - 1] == 0x3A, !s[start..<(end - 1)].contains(0x3A) { end -= 1 }
        let a = s[start..<end]
        return PostfixParser.looksLikeAddress(a) ? a : nil
    }

    /// Byte equality with a literal.
    @inline(__always)
    static func equals(_ s: ArraySlice<UInt8>, _ literal: StaticString) -> Bool {
        s.count == literal.utf8CodeUnitCount && hasPrefix(s, literal)
    }

    /// The next `\n` at or after `from`, by a word-at-a-time scan.
    @inline(__always)
    static func firstNewline(in s: ArraySlice<UInt8>, from: Int) -> Int? {
        s.withUnsafeBufferPointer { buffer -> Int? in
            // Invariant: offsets below stay within 0..<buffer.count.
            let base = s.startIndex
            var i = from - base
            let n = buffer.count
            while i + 8 <= n {
                let word = UnsafeRawPointer(buffer.baseAddress! + i).loadUnaligned(as: UInt64.self)
                let x = word ^ 0x0A0A_0A0A_0A0A_0A0A
                if (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            while i < n {
                if buffer[i] == 0x0A { return base + i }
                i += 1
            }
            return nil
        }
    }

    /// Whether the line holds a NUL byte (binary data).
    @inline(__always)
    static func containsNUL(_ s: ArraySlice<UInt8>) -> Bool {
        s.withUnsafeBufferPointer { buffer in
            var i = 0
            let n = buffer.count
            while i + 8 <= n {
                let word = UnsafeRawPointer(buffer.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0 { return buffer[i..<(i + 8)].contains(0) }
                i += 8
            }
            while i < n {
                if buffer[i] == 0 { return true }
                i += 1
            }
            return false
        }
    }
}
