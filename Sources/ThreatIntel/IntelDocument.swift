import TelemetryModel

/// Everything one intel file yields: its records and the records it had to
/// skip, counted by reason (`unknown_kind`, `invalid_domain`, …).
package struct IntelDocument: Sendable, Equatable {
    package var source: String
    package var format: IntelFormat
    package var records: [IntelStatement]
    /// Actors the file describes (with aliases and country), also those no
    /// indicator points to.
    package var actors: [ActorStatement]
    /// Campaigns the file describes, also those without indicators.
    package var campaigns: [CampaignStatement]
    package var skipped: [String: Int]

    package init(
        source: String, format: IntelFormat, records: [IntelStatement] = [], actors: [ActorStatement] = [],
        campaigns: [CampaignStatement] = [], skipped: [String: Int] = [:]
    ) {
        self.source = source
        self.format = format
        self.records = records
        self.actors = actors
        self.campaigns = campaigns
        self.skipped = skipped
    }

    mutating func skip(_ reason: String, count: Int = 1) {
        skipped[reason, default: 0] += count
    }

    package var skippedTotal: Int { skipped.values.reduce(0, +) }
}

package enum IntelFormat: String, Sendable, Equatable {
    case csv
    case stix
    case mispEvent = "misp-event"
    case mispFeed = "misp-feed"
    case mispGalaxy = "misp-galaxy"
    case zeek = "zeek-intel"
}

/// An intel file that cannot be imported at all. Nothing of it is written.
package struct IntelImportError: Error, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case unsupportedFormat = "unsupported_format"
        case missingColumns = "missing_columns"
        case malformedJSON = "malformed_json"
        case unreadable
        case empty
    }

    package var code: Code
    package var detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { detail }
}
