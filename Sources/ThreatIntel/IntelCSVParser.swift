import TelemetryModel
import WireParsing

/// The intel CSV of SPEC §5: a header row naming `kind,value` and optionally
/// `actor,actor_country,campaign,valid_from,valid_until,confidence` in any
/// order (case-insensitive). Unknown columns are ignored. Bad rows are
/// counted by reason, never fatal; a file without the required columns is.
package enum IntelCSVParser {
    package static let requiredColumns = ["kind", "value"]
    package static let optionalColumns = ["actor", "actor_country", "campaign", "valid_from", "valid_until", "confidence"]

    package static func parse(_ bytes: [UInt8], source: String) throws(IntelImportError) -> IntelDocument {
        var header: CSVReader.Record? = nil
        var column: [String: Int] = [:]
        var document = IntelDocument(source: source, format: .csv)
        try CSVReader.forEachRecord(bytes) { (record: CSVReader.Record) throws(IntelImportError) in
            guard header != nil else {
                header = record
                for (index, name) in record.fields.enumerated() {
                    let key = name.trimmingASCIIWhitespace().asciiLowercased()
                    if column[key] == nil { column[key] = index }
                }
                let missing = requiredColumns.filter { column[$0] == nil }
                guard missing.isEmpty else {
                    let shown = record.fields.prefix(8).map { String($0.prefix(40)) }.joined(separator: ",")
                    throw IntelImportError(
                        .missingColumns,
                        "\(source): not an intel CSV: header lacks column(s) \(missing.joined(separator: ", ")) (header was \"\(shown)\")")
                }
                return
            }
            switch parseRow(record, column: column) {
            case .success(let intel): document.records.append(intel)
            case .failure(let skip): document.skipped[skip.reason, default: 0] += 1
            }
        }
        guard header != nil else {
            throw IntelImportError(.empty, "\(source): empty intel file (a CSV header `kind,value,...` is required)")
        }
        return document
    }

    struct Skip: Error {
        var reason: String
    }

    static func parseRow(_ record: CSVReader.Record, column: [String: Int]) -> Result<IntelStatement, Skip> {
        if record.isMalformed { return .failure(Skip(reason: "malformed_row")) }
        func field(_ name: String) -> String? {
            guard let index = column[name], index < record.fields.count else { return nil }
            let value = record.fields[index].trimmingASCIIWhitespace()
            return value.isEmpty ? nil : value
        }
        guard let kindText = field("kind") else { return .failure(Skip(reason: "missing_kind")) }
        guard let kind = IndicatorKind(rawValue: kindText.asciiLowercased()) else {
            return .failure(Skip(reason: "unknown_kind"))
        }
        guard let rawValue = field("value") else { return .failure(Skip(reason: "missing_value")) }
        let value: String
        switch kind.normalize(rawValue) {
        case .success(let normalised): value = normalised
        case .failure(let invalid): return .failure(Skip(reason: invalid.reason))
        }
        var intel = IntelStatement(kind: kind, value: value, line: record.line)
        intel.actor = field("actor")
        intel.campaign = field("campaign")
        if let countryText = field("actor_country") {
            guard let country = CountryCode(countryText) else { return .failure(Skip(reason: "invalid_actor_country")) }
            intel.actorCountry = country
        }
        if let text = field("valid_from") {
            guard let t = Timestamp(parsing: text) else { return .failure(Skip(reason: "invalid_valid_from")) }
            intel.validFrom = t
        }
        if let text = field("valid_until") {
            guard let t = Timestamp(parsing: text) else { return .failure(Skip(reason: "invalid_valid_until")) }
            intel.validUntil = t
        }
        if let from = intel.validFrom, let until = intel.validUntil, until <= from {
            return .failure(Skip(reason: "empty_validity_window"))
        }
        if let text = field("confidence") {
            guard let c = Int(text), (0...100).contains(c) else { return .failure(Skip(reason: "invalid_confidence")) }
            intel.confidence = c
        }
        return .success(intel)
    }
}
