import TelemetryModel

/// One usable statement read from an intel file: an indicator, and what the
/// file says about it (actor, the actor's country, campaign, validity).
package struct IntelRecord: Sendable, Equatable {
    package var kind: IndicatorKind
    /// Normalised per SPEC §3.
    package var value: String
    package var actor: String?
    package var actorCountry: CountryCode?
    package var campaign: String?
    package var validFrom: Timestamp?
    package var validUntil: Timestamp?
    package var confidence: Int?
    /// Line (CSV) or position the record came from, for diagnostics.
    package var line: Int

    package init(
        kind: IndicatorKind, value: String, actor: String? = nil, actorCountry: CountryCode? = nil,
        campaign: String? = nil, validFrom: Timestamp? = nil, validUntil: Timestamp? = nil,
        confidence: Int? = nil, line: Int = 0
    ) {
        self.kind = kind
        self.value = value
        self.actor = actor
        self.actorCountry = actorCountry
        self.campaign = campaign
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.confidence = confidence
        self.line = line
    }
}

/// Everything one intel file yields: its records and the records it had to
/// skip, counted by reason (`unknown_kind`, `invalid_domain`, …).
package struct IntelDocument: Sendable, Equatable {
    package var source: String
    package var format: IntelFormat
    package var records: [IntelRecord]
    package var skipped: [String: Int]

    package init(source: String, format: IntelFormat, records: [IntelRecord] = [], skipped: [String: Int] = [:]) {
        self.source = source
        self.format = format
        self.records = records
        self.skipped = skipped
    }

    package var skippedTotal: Int { skipped.values.reduce(0, +) }
}

package enum IntelFormat: String, Sendable, Equatable {
    case csv
}

/// An intel file that cannot be imported at all. Nothing of it is written.
package struct IntelImportError: Error, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case unsupportedFormat = "unsupported_format"
        case missingColumns = "missing_columns"
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
