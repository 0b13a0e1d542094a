import Crypto

/// What a bearer token may do.
package enum Role: String, Sendable, CaseIterable {
    /// Sensors ship sightings (`POST /v1/sightings`).
    case sensor
    /// Analysts and responders read (`GET /v1/…`).
    case analyst
}

/// The bearer tokens the server accepts, kept only as SHA-256 digests
/// (`sha256:` and 64 hex digits, as `geneva hash-token` prints them): the
/// configuration never holds a token, and a presented token is hashed and
/// compared with every digest in constant time, so neither the file nor the
/// timing of a refusal gives one away. Tokens are never logged.
package struct TokenBook: Sendable {
    private var entries: [(role: Role, digest: [UInt8])] = []

    /// `hashes`: role → digests in the `sha256:HEX` form. A malformed entry
    /// is an error naming its role and position (never its text).
    package init(_ hashes: [Role: [String]]) throws(TokenError) {
        for role in Role.allCases {
            for (i, text) in (hashes[role] ?? []).enumerated() {
                guard let digest = TokenBook.digest(parsing: text) else {
                    throw TokenError(message: "tokens.\(role.rawValue)s entry \(i + 1) is not sha256: and 64 hex digits (see `geneva hash-token`)")
                }
                entries.append((role, digest))
            }
        }
    }

    package var isEmpty: Bool { entries.isEmpty }

    /// The roles of `token` (empty when it is unknown). Every digest is
    /// compared in full whatever matches, so the time taken does not depend
    /// on where, or whether, the token is found.
    package func roles(of token: String) -> Set<Role> {
        let presented = Array(SHA256.hash(data: Array(token.utf8)))
        var roles: Set<Role> = []
        for entry in entries {
            var difference: UInt8 = 0
            for (a, b) in zip(entry.digest, presented) { difference |= a ^ b }
            if difference == 0 { roles.insert(entry.role) }
        }
        return roles
    }

    /// `sha256:` and the hex SHA-256 of `token`: what the configuration holds.
    package static func hash(_ token: String) -> String {
        "sha256:" + SHA256.hash(data: Array(token.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
    }

    static func digest(parsing text: String) -> [UInt8]? {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.utf8.dropFirst(7))
        guard hex.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(hex[i]), let low = nibble(hex[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}

package struct TokenError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
