/// RFC 4180 CSV: fields separated by commas, optionally double-quoted
/// (a quote inside is doubled), records ended by LF or CRLF. A leading UTF-8
/// BOM is skipped. Used by intel and customer lists, and later by Exchange
/// message-tracking logs.
package enum CSVReader {
    /// Longest field accepted; longer fields are cut and the record flagged.
    /// No indicator, name or log field is legitimately anywhere near this.
    package static let maxFieldLength = 65_536

    package struct Record: Sendable, Equatable {
        package var fields: [String]
        /// 1-based line number where the record starts.
        package var line: Int
        /// A quote was not closed before the end of input, or a field was cut.
        package var isMalformed: Bool
    }

    /// Parses the whole input. Blank lines are skipped.
    package static func records(_ bytes: [UInt8]) -> [Record] {
        var result: [Record] = []
        forEachRecord(bytes) { result.append($0) }
        return result
    }

    /// Calls `body` with each record in order, holding one record at a time.
    package static func forEachRecord<E: Error>(_ bytes: [UInt8], _ body: (Record) throws(E) -> Void) throws(E) {
        var i = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        var line = 1
        var fields: [String] = []
        var field: [UInt8] = []
        var malformed = false
        var recordLine = 1
        var inQuotes = false
        var fieldStarted = false

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }
        func endRecord() throws(E) {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) {
                try body(Record(fields: fields, line: recordLine, isMalformed: malformed))
            }
            fields.removeAll(keepingCapacity: true)
            malformed = false
        }
        func append(_ c: UInt8) {
            if field.count < maxFieldLength { field.append(c) } else { malformed = true }
        }

        while i < bytes.count {
            let c = bytes[i]
            if inQuotes {
                if c == 0x22 {
                    if i + 1 < bytes.count, bytes[i + 1] == 0x22 {
                        append(0x22)
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if c == 0x0A { line += 1 }
                    append(c)
                }
                i += 1
                continue
            }
            switch c {
            case 0x22 where !fieldStarted && field.isEmpty:
                inQuotes = true
                fieldStarted = true
            case 0x2C:
                endField()
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break  // the LF ends the record
            case 0x0A:
                try endRecord()
                line += 1
                recordLine = line
            default:
                fieldStarted = true
                append(c)
            }
            i += 1
        }
        if inQuotes { malformed = true }
        // A lone CR at the very end (CRLF cut before its LF) ends the record too.
        if !inQuotes, field.last == 0x0D { field.removeLast() }
        if !field.isEmpty || !fields.isEmpty || fieldStarted { try endRecord() }
    }
}
