import Foundation
import TelemetryModel
import WireParsing

/// Detects an intel file's format by content and parses it: STIX 2.1 (bundle,
/// array or JSON Lines), MISP event / feed directory / galaxy cluster file,
/// Zeek intel, or the CSV of SPEC §5.
package enum IntelImporter {
    /// Reads `path` (a file, or a MISP feed directory) and parses it. The
    /// source name is the file's or directory's name.
    package static func load(path: String) throws(IntelImportError) -> IntelDocument {
        let url = URL(fileURLWithPath: path)
        let source = url.lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw IntelImportError(.unreadable, "\(path): no such file")
        }
        if isDirectory.boolValue { return try loadFeed(directory: url) }
        guard let bytes = readWholeFile(path) else {
            throw IntelImportError(.unreadable, "\(path): cannot be read")
        }
        return try parse(bytes, source: source)
    }

    /// The file's bytes read straight into one array (not via `Data`, which
    /// would hold a second copy of a 600 MB bundle).
    static func readWholeFile(_ path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), (try? handle.seek(toOffset: 0)) != nil else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var filled = 0
        let fd = handle.fileDescriptor
        while filled < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if n < 0 { return nil }
            if n == 0 { break }
            filled += n
        }
        if filled < bytes.count { bytes.removeLast(bytes.count - filled) }
        // A file that grew while being read: take the rest too.
        if let more = try? handle.readToEnd() { bytes.append(contentsOf: more) }
        return bytes
    }

    package static func parse(_ bytes: [UInt8], source: String) throws(IntelImportError) -> IntelDocument {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        guard start < bytes.count else {
            throw IntelImportError(.empty, "\(source): empty intel file")
        }
        switch bytes[start] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return try parseJSON(bytes, source: source)
        case UInt8(ascii: "#"):
            return try ZeekIntelParser.parse(bytes, source: source)
        default:
            return try IntelCSVParser.parse(bytes, source: source)
        }
    }

    static func parseJSON(_ bytes: [UInt8], source: String) throws(IntelImportError) -> IntelDocument {
        var stix = STIXCollector()
        var events: [JSONValue] = []
        var unknownElements = 0
        let members: [(String, JSONValue)]
        do {
            members = try JSONParser.parseStreaming(bytes, arrayKey: "objects") { element in
                if let event = element["Event"] {
                    events.append(event)
                } else if element["type"]?.string != nil, element["id"]?.string != nil {
                    stix.add(element)
                } else {
                    unknownElements += 1
                }
            }
        } catch let error as JSONSyntaxError {
            if error.message == "unexpected data after the document", let lines = try? parseJSONLines(bytes) {
                // A fresh collector: the streaming pass already fed it the first line's objects.
                var lineCollector = STIXCollector()
                for object in lines { lineCollector.add(object) }
                return lineCollector.document(source: source)
            }
            throw IntelImportError(.malformedJSON, "\(source): \(error.description)")
        } catch {
            throw IntelImportError(.malformedJSON, "\(source): \(error)")
        }
        let root = JSONValue.object(members)
        if stix.objectCount > 0 || root["type"]?.string == "bundle" {
            var doc = stix.document(source: source)
            if unknownElements > 0 { doc.skip("stix_object_without_type_or_id", count: unknownElements) }
            return doc
        }
        if !events.isEmpty || MISPImporter.events(in: root) != nil {
            var doc = IntelDocument(source: source, format: .mispEvent)
            for event in events + (MISPImporter.events(in: root) ?? []) { MISPImporter.addEvent(event, to: &doc) }
            return doc
        }
        if root["values"]?.array != nil {
            return try MISPImporter.galaxy(root, source: source)
        }
        if root["type"]?.string != nil, root["id"]?.string != nil {
            stix.add(root)
            return stix.document(source: source)
        }
        throw IntelImportError(
            .unsupportedFormat, "\(source): JSON that is neither a STIX 2.1 bundle or object, a MISP event or feed, nor a MISP galaxy")
    }

    /// JSON Lines: one complete object per non-empty line.
    static func parseJSONLines(_ bytes: [UInt8]) throws -> [JSONValue] {
        var objects: [JSONValue] = []
        for line in bytes.split(separator: 0x0A) {
            let trimmed = line.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if trimmed.isEmpty { continue }
            let value = try JSONParser.parse(Array(trimmed))
            guard value.members != nil else { throw JSONSyntaxError(offset: 0, line: 0, column: 0, message: "not an object") }
            objects.append(value)
        }
        return objects
    }

    /// A MISP feed: `manifest.json` names the events (`<uuid>.json`) beside it.
    static func loadFeed(directory: URL) throws(IntelImportError) -> IntelDocument {
        let source = directory.lastPathComponent
        let manifestURL = directory.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw IntelImportError(.unsupportedFormat, "\(directory.path): a directory is imported as a MISP feed, but it has no manifest.json")
        }
        let manifest: JSONValue
        do {
            manifest = try JSONParser.parse(Array(data))
        } catch {
            throw IntelImportError(.malformedJSON, "\(source)/manifest.json: \(error.description)")
        }
        guard let entries = manifest.members else {
            throw IntelImportError(.unsupportedFormat, "\(source)/manifest.json: not an object of event uuids")
        }
        var doc = IntelDocument(source: source, format: .mispFeed)
        for (uuid, _) in entries.sorted(by: { $0.0 < $1.0 }) {
            guard uuid.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) || $0 == 0x2D }) else {
                doc.skip("feed_bad_event_uuid")
                continue
            }
            let file = directory.appendingPathComponent(uuid + ".json")
            guard let bytes = FileManager.default.contents(atPath: file.path) else {
                doc.skip("feed_event_file_missing")
                continue
            }
            let root: JSONValue
            do {
                root = try JSONParser.parse(Array(bytes))
            } catch {
                throw IntelImportError(.malformedJSON, "\(source)/\(uuid).json: \(error.description)")
            }
            guard let events = MISPImporter.events(in: root) else {
                doc.skip("feed_file_not_an_event")
                continue
            }
            for event in events { MISPImporter.addEvent(event, to: &doc) }
        }
        return doc
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
