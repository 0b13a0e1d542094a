/// IPv4 and IPv6 addresses: strict parsing and canonical text (dotted quad;
/// RFC 5952 for IPv6), so that the same address always has the same string.
package enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// High and low 64 bits, network order.
    case v6(UInt64, UInt64)

    package init?(_ text: some StringProtocol) {
        let s = String(text)
        if let v4 = IPAddress.parseV4(Array(s.utf8)[...]) {
            self = .v4(v4)
        } else if let (hi, lo) = IPAddress.parseV6(Array(s.utf8)) {
            self = .v6(hi, lo)
        } else {
            return nil
        }
    }

    /// From 4 or 16 network-order bytes.
    package init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        switch b.count {
        case 4:
            self = .v4(b.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let hi = b[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let lo = b[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(hi, lo)
        default:
            return nil
        }
    }

    package var bitWidth: Int {
        if case .v4 = self { return 32 }
        return 128
    }

    package var description: String {
        switch self {
        case .v4(let a):
            return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF)"
        case .v6(let hi, let lo):
            return IPAddress.formatV6(hi, lo)
        }
    }

    /// The address with all bits after the first `prefix` cleared.
    package func masked(to prefix: Int) -> IPAddress {
        switch self {
        case .v4(let a):
            let mask: UInt32 = prefix <= 0 ? 0 : (prefix >= 32 ? .max : ~(UInt32.max >> UInt32(prefix)))
            return .v4(a & mask)
        case .v6(let hi, let lo):
            let hiMask: UInt64 = prefix <= 0 ? 0 : (prefix >= 64 ? .max : ~(UInt64.max >> UInt64(prefix)))
            let loBits = prefix - 64
            let loMask: UInt64 = loBits <= 0 ? 0 : (loBits >= 64 ? .max : ~(UInt64.max >> UInt64(loBits)))
            return .v6(hi & hiMask, lo & loMask)
        }
    }

    // MARK: Parsing

    /// Whether `bytes` are an IPv4 address in canonical dotted-quad form.
    package static func isCanonicalIPv4(_ bytes: String.UTF8View) -> Bool {
        var parts = 0, digits = 0, value = 0
        var leadingZero = false
        for c in bytes {
            if c == 0x2E {
                guard digits > 0, parts < 3 else { return false }
                parts += 1
                digits = 0
                value = 0
                continue
            }
            guard c >= 0x30, c <= 0x39, digits < 3 else { return false }
            if digits == 0 { leadingZero = c == 0x30 } else if leadingZero { return false }
            value = value * 10 + Int(c - 0x30)
            guard value <= 255 else { return false }
            digits += 1
        }
        return parts == 3 && digits > 0
    }

    /// Dotted decimal, exactly four parts 0...255, no leading zeros (an
    /// octal-looking `010` is rejected rather than guessed).
    static func parseV4(_ b: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        var i = b.startIndex
        while parts < 4 {
            var digits = 0
            var part: UInt32 = 0
            let start = i
            while i < b.endIndex, b[i] >= 0x30, b[i] <= 0x39, digits < 4 {
                part = part * 10 + UInt32(b[i] - 0x30)
                digits += 1
                i += 1
            }
            guard digits > 0, digits <= 3, part <= 255, !(digits > 1 && b[start] == 0x30) else { return nil }
            value = value << 8 | part
            parts += 1
            if parts < 4 {
                guard i < b.endIndex, b[i] == 0x2E else { return nil }
                i += 1
            }
        }
        return i == b.endIndex ? value : nil
    }

    static func parseV6(_ b: [UInt8]) -> (UInt64, UInt64)? {
        guard b.count >= 2, b.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var gapAt: Int? = nil
        var i = 0
        if b[0] == 0x3A {
            guard b[1] == 0x3A else { return nil }
            gapAt = 0
            i = 2
        }
        while i < b.count {
            // An embedded IPv4 tail: the last group, written with dots.
            if !b[i...].contains(0x3A), b[i...].contains(0x2E) {
                guard let v4 = parseV4(b[i...]), groups.count <= 6 else { return nil }
                groups.append(UInt16(v4 >> 16))
                groups.append(UInt16(v4 & 0xFFFF))
                i = b.count
                break
            }
            var group: UInt32 = 0
            var digits = 0
            while i < b.count, let h = hexValue(b[i]) {
                group = group << 4 | UInt32(h)
                digits += 1
                i += 1
                guard digits <= 4 else { return nil }
            }
            guard digits > 0 else { return nil }
            groups.append(UInt16(group))
            if i == b.count { break }
            guard b[i] == 0x3A else { return nil }
            i += 1
            if i < b.count, b[i] == 0x3A {
                guard gapAt == nil else { return nil }
                gapAt = groups.count
                i += 1
                if i == b.count { break }
            } else if i == b.count {
                return nil  // trailing single colon
            }
        }
        if let gap = gapAt {
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        let hi = groups[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let lo = groups[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (hi, lo)
    }

    /// RFC 5952: lower-case hex, no leading zeros, the longest run (length
    /// ≥ 2, first if tied) of zero groups as `::`, IPv4-mapped as
    /// `::ffff:a.b.c.d`.
    static func formatV6(_ hi: UInt64, _ lo: UInt64) -> String {
        let groups: [UInt16] = (0..<4).map { UInt16(truncatingIfNeeded: hi >> UInt64(48 - 16 * $0)) }
            + (0..<4).map { UInt16(truncatingIfNeeded: lo >> UInt64(48 - 16 * $0)) }
        if hi == 0, lo >> 32 == 0xFFFF {
            let v4 = IPAddress.v4(UInt32(truncatingIfNeeded: lo))
            return "::ffff:\(v4)"
        }
        var bestStart = -1, bestLen = 0, runStart = -1
        for i in 0...8 {
            if i < 8, groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLen { bestStart = runStart; bestLen = i - runStart }
                runStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var out = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                out += "::"
                i += bestLen
                continue
            }
            if !out.isEmpty, !out.hasSuffix(":") { out += ":" }
            out += String(groups[i], radix: 16)
            i += 1
        }
        return out
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}
