import TelemetryModel

/// Everything one intel file yields: its records and the records it had to
/// skip, counted by reason (`unknown_kind`, `invalid_domain`, …).
package struct IntelDocument: Sendable, Equatable {
    package var source: String
    package var format: IntelFormat
    package var records: [IntelStatement]
    package var skipped: [String: Int]

    package init(source: String, format: IntelFormat, records: [IntelStatement] = [], skipped: [String: Int] = [:]) {
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
