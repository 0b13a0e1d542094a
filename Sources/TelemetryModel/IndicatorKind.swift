/// Observable kinds (SPEC §2). `cidr` exists on the indicator side only.
package enum IndicatorKind: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    case ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256

    package static func < (lhs: IndicatorKind, rhs: IndicatorKind) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Normalises `raw` per SPEC §3 so that equal indicators have equal
    /// strings. Returns the reason when the value is unusable; reasons are
    /// stable keys for skip counters (`invalid_domain`, …).
    package func normalize(_ raw: String) -> Result<String, InvalidIndicatorValue> {
        let text = raw.trimmingASCIIWhitespace()
        let failure = Result<String, InvalidIndicatorValue>.failure(InvalidIndicatorValue(kind: self))
        switch self {
        case .ipv4:
            guard let v = IPAddress.parseV4(Array(text.utf8)[...]) else { return failure }
            return .success(IPAddress.v4(v).description)
        case .ipv6:
            guard let (hi, lo) = IPAddress.parseV6(Array(text.utf8)) else { return failure }
            return .success(IPAddress.v6(hi, lo).description)
        case .cidr:
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let address = IPAddress(parts[0]) else { return failure }
            var prefix = address.bitWidth
            if parts.count == 2 {
                guard let p = Int(parts[1]), p >= 0, p <= address.bitWidth, !parts[1].hasPrefix("+") else {
                    return failure
                }
                prefix = p
            }
            return .success("\(address.masked(to: prefix))/\(prefix)")
        case .domain:
            guard let d = DomainName.normalize(text), DomainName.isValidIndicator(d) else { return failure }
            return .success(d)
        case .email:
            var t = Substring(text)
            if t.hasPrefix("<"), t.hasSuffix(">"), t.count >= 2 { t = t.dropFirst().dropLast() }
            guard let at = t.lastIndex(of: "@") else { return failure }
            let local = t[..<at], host = t[t.index(after: at)...]
            guard !local.isEmpty, local.utf8.count <= 64,
                !local.utf8.contains(where: { $0 <= 0x20 || $0 == 0x3C || $0 == 0x3E || $0 >= 0x7F }),
                let domain = DomainName.normalize(String(host)), DomainName.isValidIndicator(domain)
            else { return failure }
            return .success(String(local).asciiLowercased() + "@" + domain)
        case .url:
            guard let u = URLNormalizer.normalize(text) else { return failure }
            return .success(u)
        case .md5, .sha1, .sha256:
            let width = self == .md5 ? 32 : (self == .sha1 ? 40 : 64)
            guard text.utf8.count == width, text.utf8.allSatisfy({ hexValue($0) != nil }) else { return failure }
            return .success(text.asciiLowercased())
        }
    }
}

/// Why an indicator value was rejected; ``reason`` is a stable counter key.
package struct InvalidIndicatorValue: Error, Equatable, Sendable {
    package var kind: IndicatorKind

    package init(kind: IndicatorKind) {
        self.kind = kind
    }

    package var reason: String { "invalid_\(kind.rawValue)" }
}

/// Domain-name rules shared by intel import and matching.
package enum DomainName {
    /// Maximum length of a presentation-format name without the trailing dot (RFC 1035).
    package static let maxLength = 253

    /// Lower-cases ASCII letters and drops one trailing dot. `nil` for empty names.
    package static func normalize(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        if bytes.last == 0x2E { bytes.removeLast() }
        guard !bytes.isEmpty else { return nil }
        for i in bytes.indices where bytes[i] >= 0x41 && bytes[i] <= 0x5A { bytes[i] |= 0x20 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A usable domain indicator: ASCII letters, digits, `-` and `_`; labels
    /// 1–63 bytes; at least two labels (a bare TLD would match half the
    /// Internet); not an IPv4 literal.
    package static func isValidIndicator(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count <= maxLength, IPAddress.parseV4(bytes[...]) == nil else { return false }
        var labels = 0
        for label in bytes.split(separator: 0x2E, omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63,
                label.allSatisfy({ isLabelByte($0) })
            else { return false }
            labels += 1
        }
        return labels >= 2
    }

    @inline(__always)
    package static func isLabelByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || (c >= 0x41 && c <= 0x5A)
    }
}

/// URL normalisation of SPEC §3: scheme and host lower-case, default port
/// dropped, percent-encoded unreserved characters decoded (other escapes
/// upper-cased), empty path as `/`, fragment dropped (it never crosses the
/// wire).
package enum URLNormalizer {
    static let defaultPorts = ["http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"]

    package static func normalize(_ text: String) -> String? {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return nil }
        let scheme = text[..<colon].asciiLowercased()
        guard !scheme.isEmpty, scheme.utf8.allSatisfy(isSchemeByte) else { return nil }
        var rest = text[text.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let pathAndQuery = rest[authorityEnd...]
        var userinfo = ""
        if let at = authority.lastIndex(of: "@") {
            userinfo = String(authority[...at])
            authority = authority[authority.index(after: at)...]
        }
        var host = Substring(authority), port = ""
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = String(authority[authority.index(after: colon)...])
        }
        guard !host.isEmpty, port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var hostText = host.asciiLowercased()
        if hostText.hasSuffix(".") { hostText.removeLast() }
        if port == defaultPorts[scheme] { port = "" }
        while port.count > 1, port.hasPrefix("0") { port.removeFirst() }
        var path = percentNormalize(pathAndQuery)
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        return scheme + "://" + userinfo + hostText + (port.isEmpty ? "" : ":" + port) + path
    }

    private static func isSchemeByte(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2B || c == 0x2D || c == 0x2E
    }

    static func percentNormalize(_ s: Substring) -> String {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == 0x25, i + 2 < b.count, let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2]) {
                let c = h << 4 | l
                let unreserved = (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                    || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x7E
                if unreserved {
                    out.append(c)
                } else {
                    out.append(0x25)
                    out.append(uppercaseHex(b[i + 1]))
                    out.append(uppercaseHex(b[i + 2]))
                }
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func uppercaseHex(_ c: UInt8) -> UInt8 { (c >= 0x61 && c <= 0x66) ? c - 0x20 : c }
}

extension StringProtocol {
    /// Lower-cases ASCII letters only (no locale, no Unicode folding).
    package func asciiLowercased() -> String {
        String(decoding: utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
