import TelemetryModel
import WireParsing

/// Detects an intel file's format by content and parses it.
package enum IntelImporter {
    package static func parse(_ bytes: [UInt8], source: String) throws(IntelImportError) -> IntelDocument {
        let firstByte = bytes.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }).first
        if firstByte == 0x7B || firstByte == 0x5B {
            throw IntelImportError(
                .unsupportedFormat,
                "\(source): JSON intel (STIX 2.1 / MISP) is not supported yet; this build imports CSV (SPEC §5)")
        }
        if bytes.starts(with: Array("#separator".utf8)) || bytes.starts(with: Array("#fields".utf8)) {
            throw IntelImportError(.unsupportedFormat, "\(source): Zeek intel files are not supported yet; this build imports CSV")
        }
        return try IntelCSVParser.parse(bytes, source: source)
    }
}

/// The customers CSV of SPEC §5: `id,name,country[,sector]` with a header.
/// Reference data like intel, so it lives beside the intel parsers.
package enum CustomerCSVParser {
    package struct Result: Sendable, Equatable {
        package var customers: [Customer]
        package var skipped: [String: Int]
    }

    package static func parse(_ bytes: [UInt8], source: String) throws(IntelImportError) -> Result {
        var records = CSVReader.records(bytes)[...]
        guard let header = records.popFirst() else {
            throw IntelImportError(.empty, "\(source): empty customers file (header `id,name,country[,sector]` required)")
        }
        var column: [String: Int] = [:]
        for (index, name) in header.fields.enumerated() {
            column[name.trimmingASCIIWhitespace().asciiLowercased()] = column[name.trimmingASCIIWhitespace().asciiLowercased()] ?? index
        }
        let missing = ["id", "name", "country"].filter { column[$0] == nil }
        guard missing.isEmpty else {
            throw IntelImportError(.missingColumns, "\(source): customers CSV header lacks column(s) \(missing.joined(separator: ", "))")
        }
        var result = Result(customers: [], skipped: [:])
        var seen: [String: Int] = [:]
        for record in records {
            func field(_ name: String) -> String? {
                guard let index = column[name], index < record.fields.count else { return nil }
                let value = record.fields[index].trimmingASCIIWhitespace()
                return value.isEmpty ? nil : value
            }
            guard !record.isMalformed else { result.skipped["malformed_row", default: 0] += 1; continue }
            guard let id = field("id") else { result.skipped["missing_id", default: 0] += 1; continue }
            guard let countryText = field("country"), let country = CountryCode(countryText) else {
                result.skipped["invalid_country", default: 0] += 1
                continue
            }
            let customer = Customer(id: id, name: field("name") ?? id, country: country, sector: field("sector"))
            if let index = seen[id] {
                result.customers[index] = customer  // the last row for an id wins, as an upsert would
                result.skipped["duplicate_id", default: 0] += 1
            } else {
                seen[id] = result.customers.count
                result.customers.append(customer)
            }
        }
        return result
    }
}
