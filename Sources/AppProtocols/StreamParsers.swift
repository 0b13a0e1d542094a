import WireParsing

/// A value a stream parser found: which field, and the text as sent.
package enum StreamFinding: Sendable, Equatable {
    case dnsQuery(String)
    case dnsAnswer(String)
    /// An A or AAAA record's address, network order (4 or 16 bytes).
    case dnsAnswerAddress([UInt8])
    case tlsSNI(String)
    case httpHost(String)
    case httpURL(String)
    case smtpMailFrom(String)
    case smtpRcptTo(String)
}

/// DNS over TCP (RFC 1035 §4.2.2): messages with a two-byte length prefix,
/// several per segment or one across many.
package struct DNSStreamParser: Sendable {
    private var buffer: [UInt8] = []
    package private(set) var dns = DNSParser()

    package init() {}

    package mutating func feed(_ data: ArraySlice<UInt8>, _ found: (StreamFinding) throws -> Void) rethrows {
        buffer.append(contentsOf: data)
        var start = 0
        while buffer.count - start >= 2 {
            let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
            guard buffer.count - start >= 2 + length else { break }
            if let message = dns.parse(buffer[(start + 2)..<(start + 2 + length)]) {
                if message.isResponse {
                    for rr in message.records {
                        if !rr.owner.isEmpty { try found(.dnsAnswer(rr.owner)) }
                        switch rr.data {
                        case .address(let bytes): try found(.dnsAnswerAddress(bytes))
                        case .name(let n) where !n.isEmpty: try found(.dnsAnswer(n))
                        default: break
                        }
                    }
                } else {
                    for q in message.questions where !q.name.isEmpty { try found(.dnsQuery(q.name)) }
                }
            }
            start += 2 + length
        }
        buffer.removeFirst(start)
    }
}

/// The client's first TLS handshake message (ClientHello), reassembled
/// across records and segments, for its `server_name` (RFC 6066). The
/// rest of the stream (encrypted) is ignored.
package struct TLSClientHelloParser: Sendable {
    /// A ClientHello larger than this is hostile (post-quantum key shares
    /// make real ones about 1.8 KiB).
    package static let maxHandshakeLength = 65_536

    private var records: [UInt8] = []
    private var handshake: [UInt8] = []
    package private(set) var done = false
    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    package mutating func feed(_ data: ArraySlice<UInt8>, _ found: (StreamFinding) throws -> Void) rethrows {
        guard !done else { return }
        records.append(contentsOf: data)
        var start = 0
        while records.count - start >= 5 {
            let type = records[start]
            let length = Int(records[start + 3]) << 8 | Int(records[start + 4])
            guard type == 22 else {
                done = true  // not (or no longer) a handshake
                return
            }
            guard records.count - start >= 5 + length else { break }
            handshake.append(contentsOf: records[(start + 5)..<(start + 5 + length)])
            start += 5 + length
            if handshake.count > TLSClientHelloParser.maxHandshakeLength {
                anomalies.record(Anomaly("tls.handshake_too_long"))
                done = true
                return
            }
            if handshake.count >= 4 {
                guard handshake[0] == 1 else {
                    done = true
                    return
                }
                let helloLength = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
                if handshake.count >= 4 + helloLength {
                    done = true
                    if let name = serverName(handshake[4..<(4 + helloLength)]) { try found(.tlsSNI(name)) }
                    return
                }
            }
        }
        records.removeFirst(start)
    }

    private mutating func serverName(_ hello: ArraySlice<UInt8>) -> String? {
        var r = ByteReader(hello)
        guard r.skip(2 + 32), let sessionLength = r.readUInt8(), r.skip(Int(sessionLength)),
            let suites = r.readUInt16(), r.skip(Int(suites)), let compression = r.readUInt8(), r.skip(Int(compression)),
            let extensionsLength = r.readUInt16(), let extensions = r.readBytes(Int(extensionsLength))
        else {
            anomalies.record(Anomaly("tls.malformed_client_hello"))
            return nil
        }
        var e = ByteReader(extensions)
        while let type = e.readUInt16(), let length = e.readUInt16() {
            guard let body = e.readBytes(Int(length)) else {
                anomalies.record(Anomaly("tls.malformed_extension"))
                return nil
            }
            guard type == 0 else { continue }
            var list = ByteReader(body)
            guard list.skip(2) else { return nil }
            while let nameType = list.readUInt8(), let nameLength = list.readUInt16(), let name = list.readBytes(Int(nameLength)) {
                if nameType == 0 { return String(decoding: name, as: UTF8.self) }
            }
            return nil
        }
        return nil
    }
}

/// HTTP/1.x requests from the client side of a connection: request line and
/// headers (Host), bodies skipped by Content-Length or chunked encoding,
/// pipelined requests one after another.
package struct HTTPRequestParser: Sendable {
    /// Request line plus headers beyond this is not HTTP worth parsing.
    package static let maxHeaderLength = 65_536

    private enum State: Sendable { case headers, body(Int), chunkSize, chunkData(Int), chunkTrailer, failed }
    private var state: State = .headers
    private var buffer: [UInt8] = []
    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    package static let methods: [String] = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE"]

    /// Whether a stream's first bytes look like an HTTP request.
    package static func looksLikeRequest(_ b: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: b.prefix(8), as: UTF8.self)
        return methods.contains { text.hasPrefix($0 + " ") }
    }

    package mutating func feed(_ data: ArraySlice<UInt8>, _ found: (StreamFinding) throws -> Void) rethrows {
        buffer.append(contentsOf: data)
        var start = 0
        loop: while start < buffer.count {
            switch state {
            case .failed:
                buffer = []
                return
            case .headers:
                // Headers end at an empty line; bare LF line ends are accepted, as servers do.
                let crlf = HTTPRequestParser.find([13, 10, 13, 10], in: buffer, from: start)
                let lf = HTTPRequestParser.find([10, 10], in: buffer, from: start)
                var ends: (Int, Int)? = nil
                if let c = crlf { ends = (c, 4) }
                if let l = lf, l < (crlf ?? Int.max) { ends = (l, 2) }
                guard let (end, terminator) = ends else {
                    if buffer.count - start > HTTPRequestParser.maxHeaderLength {
                        anomalies.record(Anomaly("http.header_too_long"))
                        state = .failed
                    }
                    break loop
                }
                // Split on bytes: in a Swift String "\r\n" is one Character, so a
                // split on "\n" would not see CRLF line ends.
                let lines = buffer[start..<end].split(separator: 0x0A, omittingEmptySubsequences: false).map { raw in
                    Substring(String(decoding: raw.last == 0x0D ? raw.dropLast() : raw, as: UTF8.self))
                }
                start = end + terminator
                let request = lines.first?.split(separator: " ", omittingEmptySubsequences: true) ?? []
                guard request.count >= 2, HTTPRequestParser.methods.contains(String(request[0])) else {
                    anomalies.record(Anomaly("http.bad_request_line"))
                    state = .failed
                    break loop
                }
                var host: String? = nil, length = 0, chunked = false
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters()
                    switch name {
                    case "host": host = value
                    case "content-length": length = Int(value) ?? 0
                    case "transfer-encoding": chunked = value.lowercased().contains("chunked")
                    default: break
                    }
                }
                let target = String(request[1])
                if let host, !host.isEmpty { try found(.httpHost(host)) }
                if target.lowercased().hasPrefix("http://") || target.lowercased().hasPrefix("https://") {
                    try found(.httpURL(target))
                } else if let host, !host.isEmpty, target.hasPrefix("/") {
                    try found(.httpURL("http://" + host + target))
                }
                state = chunked ? .chunkSize : (length > 0 ? .body(length) : .headers)
            case .body(let remaining):
                let take = min(remaining, buffer.count - start)
                start += take
                state = remaining - take == 0 ? .headers : .body(remaining - take)
            case .chunkSize:
                guard let end = HTTPRequestParser.find([13, 10], in: buffer, from: start) else { break loop }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = end + 2
                let hex = line.split(separator: ";").first.map(String.init)?.trimmingCharacters() ?? ""
                guard let size = Int(hex, radix: 16), size >= 0 else {
                    anomalies.record(Anomaly("http.bad_chunk_size"))
                    state = .failed
                    break loop
                }
                state = size == 0 ? .chunkTrailer : .chunkData(size + 2)
            case .chunkData(let remaining):
                let take = min(remaining, buffer.count - start)
                start += take
                state = remaining - take == 0 ? .chunkSize : .chunkData(remaining - take)
            case .chunkTrailer:
                guard let end = HTTPRequestParser.find([13, 10], in: buffer, from: start) else { break loop }
                let empty = end == start
                start = end + 2
                if empty { state = .headers }
            }
        }
        buffer.removeFirst(min(start, buffer.count))
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// The client side of an SMTP session: `MAIL FROM:<…>` and `RCPT TO:<…>`
/// (pipelined or not) until `STARTTLS` (after which everything is
/// encrypted); message content after `DATA` (until the lone `.`) and `BDAT`
/// chunks is skipped, never kept.
package struct SMTPClientParser: Sendable {
    /// RFC 5321 limits command lines to 512 octets; 4 KiB leaves room for extensions.
    package static let maxLineLength = 4096

    private enum State: Sendable { case commands, data, bdat(Int), encrypted }
    private var state: State = .commands
    private var buffer: [UInt8] = []
    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    /// Whether a client stream's first bytes look like SMTP.
    package static func looksLikeClient(_ b: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: b.prefix(5), as: UTF8.self).uppercased()
        return text.hasPrefix("EHLO ") || text.hasPrefix("HELO ") || text.hasPrefix("EHLO\r") || text.hasPrefix("HELO\r")
    }

    package mutating func feed(_ data: ArraySlice<UInt8>, _ found: (StreamFinding) throws -> Void) rethrows {
        if case .encrypted = state { return }
        buffer.append(contentsOf: data)
        var start = 0
        while start < buffer.count {
            if case .bdat(let remaining) = state {
                let take = min(remaining, buffer.count - start)
                start += take
                state = remaining - take == 0 ? .commands : .bdat(remaining - take)
                continue
            }
            guard let lf = buffer[start...].firstIndex(of: 0x0A) else {
                if buffer.count - start > SMTPClientParser.maxLineLength {
                    anomalies.record(Anomaly("smtp.line_too_long"))
                    start = buffer.count
                }
                break
            }
            var line = buffer[start..<lf]
            if line.last == 0x0D { line = line.dropLast() }
            start = lf + 1
            switch state {
            case .data:
                if line.elementsEqual([0x2E]) { state = .commands }
            case .commands:
                let text = String(decoding: line, as: UTF8.self)
                let upper = text.uppercased()
                if upper.hasPrefix("MAIL FROM:"), let address = SMTPClientParser.address(text.dropFirst(10)) {
                    try found(.smtpMailFrom(address))
                } else if upper.hasPrefix("RCPT TO:"), let address = SMTPClientParser.address(text.dropFirst(8)) {
                    try found(.smtpRcptTo(address))
                } else if upper == "DATA" {
                    state = .data
                } else if upper.hasPrefix("BDAT "), let size = Int(upper.dropFirst(5).split(separator: " ").first ?? "") {
                    state = .bdat(size)
                } else if upper == "STARTTLS" {
                    state = .encrypted
                    buffer = []
                    return
                }
            case .bdat, .encrypted:
                break
            }
        }
        buffer.removeFirst(min(start, buffer.count))
    }

    /// `<a@b>` (with optional space before it and parameters after), or a bare address.
    static func address(_ s: Substring) -> String? {
        let t = s.drop(while: { $0 == " " })
        if t.hasPrefix("<") {
            guard let close = t.firstIndex(of: ">") else { return nil }
            let inner = t[t.index(after: t.startIndex)..<close]
            return inner.isEmpty ? nil : String(inner)
        }
        let bare = t.prefix(while: { $0 != " " })
        return bare.isEmpty ? nil : String(bare)
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
