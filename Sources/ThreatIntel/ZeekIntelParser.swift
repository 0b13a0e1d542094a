import TelemetryModel

/// Zeek intel framework files: tab-separated, a `#fields` header naming the
/// columns (`indicator`, `indicator_type`, `meta.*`), `#` comment lines.
package enum ZeekIntelParser {
    /// Zeek `Intel::Type` → Geneva kind; a `nil` kind is decided by the value.
    static let types: [String: IndicatorKind?] = [
        "Intel::ADDR": nil, "Intel::SUBNET": .cidr, "Intel::DOMAIN": .domain, "Intel::URL": .url,
        "Intel::EMAIL": .email, "Intel::FILE_HASH": nil,
    ]

    package static func parse(_ bytes: [UInt8], source: String) throws(IntelImportError) -> IntelDocument {
        var doc = IntelDocument(source: source, format: .zeek)
        var indicatorColumn: Int? = nil, typeColumn: Int? = nil
        var lineNumber = 0
        for rawLine in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { continue }
            let fields = line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            if line.first == UInt8(ascii: "#") {
                if fields.first == "#fields" {
                    let names = Array(fields.dropFirst())
                    indicatorColumn = names.firstIndex(of: "indicator")
                    typeColumn = names.firstIndex(of: "indicator_type")
                }
                continue
            }
            guard let ic = indicatorColumn, let tc = typeColumn else {
                throw IntelImportError(.missingColumns, "\(source): Zeek intel line \(lineNumber) before a #fields header naming indicator and indicator_type")
            }
            guard ic < fields.count, tc < fields.count else {
                doc.skip("malformed_row")
                continue
            }
            let value = fields[ic], type = fields[tc]
            guard let mapped = types[type] else {
                doc.skip("unsupported_type:\(type)")
                continue
            }
            var kind: IndicatorKind
            var raw = value
            switch (type, mapped) {
            case ("Intel::ADDR", _): kind = value.contains(":") ? .ipv6 : .ipv4
            case ("Intel::FILE_HASH", _):
                switch value.utf8.count {
                case 32: kind = .md5
                case 40: kind = .sha1
                case 64: kind = .sha256
                default:
                    doc.skip("unsupported_hash_length")
                    continue
                }
            case ("Intel::URL", _):
                kind = .url
                // Zeek writes URLs without a scheme (`host/path`).
                if !value.contains("://") { raw = "http://" + value }
            case (_, let k?): kind = k
            default: continue
            }
            switch kind.normalize(raw) {
            case .success(let v):
                doc.records.append(IntelStatement(kind: kind, value: v, line: lineNumber))
            case .failure(let e):
                doc.skip(e.reason)
            }
        }
        guard indicatorColumn != nil else {
            throw IntelImportError(.missingColumns, "\(source): Zeek intel file without a #fields header")
        }
        return doc
    }
}
