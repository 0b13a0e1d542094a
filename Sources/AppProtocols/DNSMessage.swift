import WireParsing

/// The parts of a DNS message (RFC 1035) Geneva keeps: header flags, the
/// question names, and the resource records' owner names and the data of
/// A, AAAA, CNAME (and NS, PTR, MX names).
package struct DNSMessage: Sendable, Equatable {
    package var id: UInt16
    package var isResponse: Bool
    package var questions: [DNSQuestion]
    /// Answer, authority and additional records, in order.
    package var records: [DNSRecord] = []
}

/// One resource record, reduced to what can be an indicator.
package struct DNSRecord: Sendable, Equatable {
    package enum Section: Sendable, Equatable { case answer, authority, additional }
    package enum Data: Sendable, Equatable {
        /// A (4 bytes) or AAAA (16 bytes), network order.
        case address([UInt8])
        /// CNAME, NS, PTR or MX target name.
        case name(String)
        case other
    }

    package var section: Section
    /// Presentation form without the trailing dot; `""` is the root (OPT).
    package var owner: String
    package var type: UInt16
    package var data: Data
}

package struct DNSQuestion: Sendable, Equatable {
    /// Presentation form without the trailing dot; `""` is the root.
    /// Bytes outside printable ASCII (and `.` or `\` inside a label) are
    /// escaped as `\DDD`, as dig prints them.
    package var name: String
    package var type: UInt16
    package var qclass: UInt16
}

/// Parses DNS messages from a UDP payload (or a TCP message without its
/// length prefix). Hostile input yields named anomalies, never a trap.
package struct DNSParser: Sendable {
    /// RFC 1035 §2.3.4: names are at most 255 octets on the wire.
    package static let maxNameWireLength = 255
    /// Compression pointers followed per name before it is called a loop.
    /// A legal name has at most 127 labels, so more jumps than that is hostile.
    package static let maxPointerJumps = 127
    /// Questions decoded per message; real resolvers send one, more is odd.
    package static let maxQuestions = 64
    /// Resource records decoded per message: a 64 KiB message holds at most a
    /// few thousand; beyond 512 it is an amplification or a parser attack.
    package static let maxRecords = 512

    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    /// Returns the message, or `nil` (with an anomaly) when not even the
    /// header is there. Questions decoded before damage are kept.
    package mutating func parse(_ data: ArraySlice<UInt8>) -> DNSMessage? {
        var reader = ByteReader(data)
        guard let id = reader.readUInt16(), let flags = reader.readUInt16(), let qdcount = reader.readUInt16(),
            reader.skip(6)
        else {
            anomalies.record(Anomaly("dns.truncated_header"))
            return nil
        }
        var message = DNSMessage(id: id, isResponse: flags & 0x8000 != 0, questions: [])
        if qdcount > DNSParser.maxQuestions {
            anomalies.record(Anomaly("dns.too_many_questions"))
        }
        for _ in 0..<min(Int(qdcount), DNSParser.maxQuestions) {
            guard let name = readName(&reader) else { return message }
            guard let type = reader.readUInt16(), let qclass = reader.readUInt16() else {
                anomalies.record(Anomaly("dns.truncated_question"))
                return message
            }
            message.questions.append(DNSQuestion(name: name, type: type, qclass: qclass))
        }
        let counts: [(DNSRecord.Section, Int)] = [
            (.answer, Int(UInt16.read(from: data, at: 6, .big) ?? 0)),
            (.authority, Int(UInt16.read(from: data, at: 8, .big) ?? 0)),
            (.additional, Int(UInt16.read(from: data, at: 10, .big) ?? 0)),
        ]
        var parsed = 0
        for (section, count) in counts {
            for _ in 0..<count {
                guard parsed < DNSParser.maxRecords else {
                    anomalies.record(Anomaly("dns.too_many_records"))
                    return message
                }
                parsed += 1
                guard let owner = readName(&reader) else { return message }
                guard let type = reader.readUInt16(), reader.skip(2 + 4), let length = reader.readUInt16(),
                    let rdata = reader.readBytes(Int(length))
                else {
                    anomalies.record(Anomaly("dns.truncated_record"))
                    return message
                }
                var value = DNSRecord.Data.other
                switch type {
                case 1 where rdata.count == 4, 28 where rdata.count == 16:
                    value = .address(Array(rdata))
                case 1, 28:
                    anomalies.record(Anomaly("dns.bad_address_length"))
                case 5, 2, 12:  // CNAME, NS, PTR: a (possibly compressed) name
                    var nameReader = reader
                    nameReader.seek(toOffset: reader.offset - Int(length))
                    if let target = readName(&nameReader) { value = .name(target) }
                case 15 where rdata.count > 2:  // MX: preference, then a name
                    var nameReader = reader
                    nameReader.seek(toOffset: reader.offset - Int(length) + 2)
                    if let target = readName(&nameReader) { value = .name(target) }
                default:
                    break
                }
                message.records.append(DNSRecord(section: section, owner: owner, type: type, data: value))
            }
        }
        return message
    }

    /// Reads a possibly compressed name at the reader's position and leaves
    /// the reader after it (after the first pointer, if any).
    package mutating func readName(_ reader: inout ByteReader) -> String? {
        let message = reader.bytes
        var position = reader.offset
        var resumeAt: Int? = nil
        var jumps = 0
        var wireLength = 0
        var out: [UInt8] = []
        while true {
            guard let length = UInt8.read(from: message, at: position, .big) else {
                anomalies.record(Anomaly("dns.truncated_name"))
                return nil
            }
            switch length & 0xC0 {
            case 0x00:
                position += 1
                if length == 0 {
                    reader.seek(toOffset: resumeAt ?? position)
                    return String(decoding: out, as: UTF8.self)
                }
                wireLength += Int(length) + 1
                guard wireLength < DNSParser.maxNameWireLength else {
                    anomalies.record(Anomaly("dns.name_too_long"))
                    return nil
                }
                guard position + Int(length) <= message.count else {
                    anomalies.record(Anomaly("dns.truncated_name"))
                    return nil
                }
                if !out.isEmpty { out.append(0x2E) }
                for i in 0..<Int(length) {
                    appendEscaped(message[message.startIndex + position + i], to: &out)
                }
                position += Int(length)
            case 0xC0:
                guard let low = UInt8.read(from: message, at: position + 1, .big) else {
                    anomalies.record(Anomaly("dns.truncated_name"))
                    return nil
                }
                jumps += 1
                guard jumps <= DNSParser.maxPointerJumps else {
                    anomalies.record(Anomaly("dns.compression_loop"))
                    return nil
                }
                if resumeAt == nil { resumeAt = position + 2 }
                let target = Int(length & 0x3F) << 8 | Int(low)
                guard target < message.count else {
                    anomalies.record(Anomaly("dns.bad_compression_pointer"))
                    return nil
                }
                position = target
            default:
                // 0x40 / 0x80: extended label types (RFC 6891 deprecated them).
                anomalies.record(Anomaly("dns.unsupported_label_type"))
                return nil
            }
        }
    }

    private func appendEscaped(_ byte: UInt8, to out: inout [UInt8]) {
        if byte > 0x20 && byte < 0x7F && byte != 0x2E && byte != 0x5C {
            out.append(byte)
        } else {
            out.append(0x5C)
            let d = [byte / 100, byte / 10 % 10, byte % 10]
            out.append(contentsOf: d.map { $0 + 0x30 })
        }
    }
}
