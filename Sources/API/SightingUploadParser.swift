import Storage
import TelemetryModel
import WireParsing

/// The body of `POST /v1/sightings`: NDJSON, one sighting per line in the
/// shape `geneva sightings --format ndjson` and `geneva export --format
/// ndjson` print (fields the server computes itself, such as
/// `attributions`, are ignored). Blank lines are skipped. The first bad line
/// rejects the whole body, with its line number.
package enum SightingUploadParser {
    package struct LineError: Error, Equatable, CustomStringConvertible {
        package var line: Int
        package var message: String
        package var description: String { "line \(line): \(message)" }
    }

    package static func parse(_ body: [UInt8]) throws(LineError) -> [SightingUpload] {
        var uploads: [SightingUpload] = []
        var line = 0
        var start = 0
        while start < body.count {
            line += 1
            var end = start
            while end < body.count && body[end] != UInt8(ascii: "\n") { end += 1 }
            var text = body[start..<end]
            start = end + 1
            if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
            guard text.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { continue }
            let value: JSONValue
            do {
                value = try JSONParser.parse(Array(text))
            } catch {
                throw LineError(line: line, message: "not JSON: \(error)")
            }
            uploads.append(try sighting(value, line: line))
        }
        return uploads
    }

    static func sighting(_ v: JSONValue, line: Int) throws(LineError) -> SightingUpload {
        guard v.members != nil else { throw LineError(line: line, message: "not a JSON object") }
        func text(_ key: String, in object: JSONValue? = nil) throws(LineError) -> String {
            guard let s = (object ?? v)[key]?.string else { throw LineError(line: line, message: "\(key): missing or not a string") }
            if let problem = SightingUpload.fieldProblem(s) { throw LineError(line: line, message: "\(key): \(problem)") }
            return s
        }
        let timeText = try text("time")
        guard let time = Timestamp(parsing: timeText), time != .distantPast, time != .distantFuture else {
            throw LineError(line: line, message: "time: not an RFC 3339 time in \(Timestamp.representableYears.lowerBound)–\(Timestamp.representableYears.upperBound)")
        }
        let evidenceText = try text("evidence")
        guard let evidence = Evidence(rawValue: evidenceText) else { throw LineError(line: line, message: "evidence: unknown kind \(evidenceText.prefix(40))") }
        guard let indicator = v["indicator"], indicator.members != nil else {
            throw LineError(line: line, message: "indicator: missing or not an object")
        }
        let kind = try text("kind", in: indicator)
        guard IndicatorKind(rawValue: kind) != nil else { throw LineError(line: line, message: "indicator.kind: unknown kind \(kind.prefix(40))") }
        let key: String
        if v["flow"] != nil { key = try text("flow") } else { key = try text("message") }
        guard let offset = v["offset"]?.int, offset >= 0 else { throw LineError(line: line, message: "offset: missing or not a non-negative integer") }
        return SightingUpload(
            indicatorKind: kind, indicatorValue: try text("value", in: indicator), customerID: try text("customer"), sensor: try text("sensor"),
            time: time, evidence: evidence, key: key, source: try text("source"), offset: Int64(offset), observed: try text("observed"))
    }
}
