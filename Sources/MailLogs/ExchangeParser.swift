import TelemetryModel
import WireParsing

/// Exchange message-tracking logs: CSV rows, with a `#Fields:` header or,
/// without one, the documented default order of Exchange 2013 and later.
/// Client IPs, sender and recipient addresses are kept; the subject and
/// everything else of the message is not.
struct ExchangeParser {
    static let defaultFields = [
        "date-time", "client-ip", "client-hostname", "server-ip", "server-hostname", "source-context", "connector-id", "source",
        "event-id", "internal-message-id", "message-id", "network-message-id", "recipient-address", "recipient-status",
        "total-bytes", "recipient-count", "related-recipient-address", "reference", "message-subject", "sender-address",
        "return-path", "message-info", "directionality", "tenant-id", "original-client-ip", "original-server-ip", "custom-data",
        "transport-traffic-type", "log-id", "schema-version",
    ]

    private var column: [String: Int] = [:]

    init() {
        useFields(ExchangeParser.defaultFields)
    }

    mutating func useFields(_ names: [String]) {
        column = [:]
        for (i, name) in names.enumerated() { column[name.trimmingASCIIWhitespace()] = i }
    }

    /// `#Fields: date-time,client-ip,…`
    mutating func header(_ line: ArraySlice<UInt8>) {
        let text = String(decoding: line.dropFirst("#Fields:".utf8.count), as: UTF8.self)
        useFields(text.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
    }

    /// Splits one row into `values`; `false` for a malformed row or one without a time.
    func parse(_ line: ArraySlice<UInt8>, values: inout [String]) -> Bool {
        guard let record = CSVReader.records(Array(line)).first, !record.isMalformed else { return false }
        values = record.fields
        return field("date-time", in: values) != nil
    }

    func field(_ name: String, in values: [String]) -> String? {
        guard let i = column[name], i < values.count else { return nil }
        let v = values[i]
        return v.isEmpty ? nil : v
    }
}
