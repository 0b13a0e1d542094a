/// ISO 3166-1 alpha-2 country code, upper case (`DE`, `RU`).
package struct CountryCode: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let code: String

    /// Accepts two ASCII letters in any case; `nil` otherwise.
    package init?(_ text: String) {
        let trimmed = text.trimmingASCIIWhitespace()
        let bytes = Array(trimmed.utf8)
        guard bytes.count == 2, bytes.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else {
            return nil
        }
        self.code = String(decoding: bytes.map { $0 & ~0x20 }, as: UTF8.self)
    }

    package static func < (lhs: CountryCode, rhs: CountryCode) -> Bool { lhs.code < rhs.code }
    package var description: String { code }
}

/// A customer whose sensors report sightings (SPEC §2).
package struct Customer: Equatable, Sendable {
    package var id: String
    package var name: String
    package var country: CountryCode
    package var sector: String?

    package init(id: String, name: String, country: CountryCode, sector: String? = nil) {
        self.id = id
        self.name = name
        self.country = country
        self.sector = sector
    }
}

/// Where a campaign came from: named in intel, or built by clustering.
package enum CampaignOrigin: String, Sendable, Codable {
    case intel
    case clustered
}

/// The evidence a sighting rests on (SPEC §2).
package enum Evidence: String, Sendable, Hashable, CaseIterable, Codable {
    case dnsQuery = "dns-query"
    case dnsAnswer = "dns-answer"
    case tlsSNI = "tls-sni"
    case httpHost = "http-host"
    case httpURL = "http-url"
    case smtpMailFrom = "smtp-mail-from"
    case smtpRcptTo = "smtp-rcpt-to"
    case ipFlow = "ip-flow"
    case maillogClient = "maillog-client"
    case maillogSender = "maillog-sender"
    case maillogRecipient = "maillog-recipient"
    case payloadMatch = "payload-match"

    /// The indicator kind whose values this evidence carries (for payload
    /// matches it depends on the pattern, hence `nil`).
    package var observableKind: IndicatorKind? {
        switch self {
        case .dnsQuery, .dnsAnswer, .tlsSNI, .httpHost: return .domain
        case .httpURL: return .url
        case .smtpMailFrom, .smtpRcptTo, .maillogSender, .maillogRecipient: return .email
        case .ipFlow, .maillogClient, .payloadMatch: return nil
        }
    }
}

/// One value a decoder extracted from traffic or logs, before matching.
package struct Observable: Equatable, Sendable {
    package var time: Timestamp
    package var evidence: Evidence
    /// The value as seen (decoders do not normalise; the IndicatorSet does).
    package var value: String
    /// Flow key (`udp 10.0.0.1:5353 -> 10.0.0.2:53`) or message key.
    package var key: String
    /// Byte offset of the carrying record in the source (or line number).
    package var offset: Int64

    package init(time: Timestamp, evidence: Evidence, value: String, key: String, offset: Int64) {
        self.time = time
        self.evidence = evidence
        self.value = value
        self.key = key
        self.offset = offset
    }
}

/// An indicator seen at a customer's sensor (SPEC §2). Identity (SPEC §3) is
/// (indicator, customer, sensor, evidence, key, time): see ``identity``.
package struct Sighting: Equatable, Hashable, Sendable {
    package var indicatorID: Int64
    package var customerID: String
    package var sensor: String
    package var time: Timestamp
    package var evidence: Evidence
    package var key: String
    /// File name or interface the evidence came from.
    package var source: String
    package var offset: Int64
    /// The observed value that matched (e.g. the subdomain that hit a domain
    /// indicator). Never more than the matched value.
    package var observed: String

    package init(
        indicatorID: Int64, customerID: String, sensor: String, time: Timestamp, evidence: Evidence,
        key: String, source: String, offset: Int64, observed: String
    ) {
        self.indicatorID = indicatorID
        self.customerID = customerID
        self.sensor = sensor
        self.time = time
        self.evidence = evidence
        self.key = key
        self.source = source
        self.offset = offset
        self.observed = observed
    }

    package struct Identity: Hashable, Sendable {
        package var indicatorID: Int64
        package var customerID: String
        package var sensor: String
        package var evidence: Evidence
        package var key: String
        package var time: Timestamp
    }

    package var identity: Identity {
        Identity(indicatorID: indicatorID, customerID: customerID, sensor: sensor, evidence: evidence, key: key, time: time)
    }
}

extension String {
    /// The string without leading and trailing ASCII spaces, tabs, CR and LF.
    package func trimmingASCIIWhitespace() -> String {
        let u = utf8
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        guard let first = u.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = u.lastIndex(where: { !isSpace($0) })!
        if first == u.startIndex, last == u.index(before: u.endIndex) { return self }
        return String(self[first...last])
    }
}
