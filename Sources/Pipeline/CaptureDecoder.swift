import AppProtocols
import Indicators
import PacketDecoding
import TelemetryModel
import WireParsing

/// Turns the bytes of a capture file, fed in chunks of any size, into
/// observables. The only place where decoders meet: pcap/pcapng records → packets
/// → DNS messages → `Observable`s. Matching happens elsewhere.
package struct CaptureDecoder: Sendable {
    /// UDP ports whose payload is parsed as DNS: DNS, mDNS and LLMNR (all
    /// use the RFC 1035 message format). Detection by content comes with the
    /// packet-decoding issue.
    package static let dnsPorts: Set<UInt16> = [53, 5353, 5355]

    package let source: String
    /// Payload scanning of reassembled TCP streams (SPEC §3), when given:
    /// each hit becomes a `payload-match` observable carrying the matched
    /// indicator value only.
    private var payload: PayloadMatcher?
    private var payloadStreams: [FlowEndpoints: PayloadStream] = [:]
    private var reader = CaptureReader()
    private var packets = PacketDecoder()
    private var dns = DNSParser()
    private var tcp = TCPReassembler()
    private var streams: [FlowEndpoints: StreamState] = [:]
    private var streamAnomalies = AnomalyCounts()
    /// Flows (either direction) whose addresses were already reported as `ip-flow`.
    private var flowsSeen = Set<FlowEndpoints>()
    /// Flows remembered for `ip-flow` de-duplication; beyond it the memory is
    /// reset (a flow seen again then reports its addresses once more).
    package static let maxRememberedFlows = 200_000

    /// What a TCP direction carries, decided by port and first bytes.
    private enum StreamState: Sendable {
        case dns(DNSStreamParser)
        case tls(TLSClientHelloParser)
        case http(HTTPRequestParser)
        case smtp(SMTPClientParser)
        case ignored
    }
    package private(set) var firstTime: Timestamp?
    package private(set) var lastTime: Timestamp?
    package private(set) var observableCount = 0

    package init(source: String, payload: PayloadMatcher? = nil) {
        self.source = source
        self.payload = payload
    }

    /// Records (packets) read so far, from the file or live.
    package var recordCount: Int { reader.recordCount + livePackets }
    private var livePackets = 0
    /// Flows (either direction) seen for the first time (up to the memory
    /// of ``maxRememberedFlows``).
    package private(set) var flowCount = 0
    /// Bytes of the file consumed so far.
    package var bytesConsumed: Int64 { reader.consumed }

    /// Anomalies of every layer, merged.
    package var anomalies: AnomalyCounts {
        var all = reader.anomalies
        all.merge(packets.anomalies)
        all.merge(dns.anomalies)
        all.merge(tcp.anomalies)
        all.merge(streamAnomalies)
        return all
    }

    /// Feeds the next chunk of the file; `emit` receives each observable in
    /// file order. Throws only when the input is not a capture at all.
    package mutating func feed(_ chunk: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void) throws {
        var reader = self.reader
        self.reader = CaptureReader()  // keep the reader uniquely referenced while it mutates
        defer { self.reader = reader }
        try reader.feed(chunk) { record in
            try self.record(record.data, linkType: record.linkType, time: record.timestampNanoseconds, offset: record.fileOffset, emit)
        }
    }

    /// Decodes one packet captured live (libpcap), not read from a file:
    /// `offset` is the packet's number since the capture started.
    package mutating func packet(
        _ data: ArraySlice<UInt8>, linkType: UInt32, time: Int64, offset: Int64, _ emit: (Observable) throws -> Void
    ) throws {
        livePackets += 1
        try record(data, linkType: linkType, time: time, offset: offset, emit)
    }

    /// Decodes one record that ``CaptureFeed`` read from a file and gave to
    /// this decoder (one of several, each with its share of the flows).
    package mutating func record(
        _ data: ArraySlice<UInt8>, linkType: UInt32, timeNanoseconds: Int64, offset: Int64, _ emit: (Observable) throws -> Void
    ) throws {
        try record(data, linkType: linkType, time: timeNanoseconds, offset: offset, emit)
    }

    /// Replaces the payload matcher (intel reloaded): streams in flight start
    /// over with the new automaton, so a match straddling the swap is lost.
    package mutating func replacePayload(_ matcher: PayloadMatcher?) {
        payload = matcher
        payloadStreams.removeAll()
    }

    private mutating func record(
        _ data: ArraySlice<UInt8>, linkType: UInt32, time nanoseconds: Int64, offset: Int64, _ emit: (Observable) throws -> Void
    ) throws {
        let time = Timestamp(nanoseconds: nanoseconds)
        if firstTime == nil || time < firstTime! { firstTime = time }
        if lastTime == nil || time > lastTime! { lastTime = time }
        var count = observableCount
        defer { observableCount = count }
        let decoded = packets.decode(data, linkType: linkType, time: nanoseconds)
        // Each flow's two addresses, once, as ip-flow evidence. The key text
        // is formatted only for a new flow (per packet it cost ~6 % of a
        // capture scan: integer and string formatting).
        var flow: (FlowEndpoints, tcp: Bool)? = nil
        switch decoded {
        case .tcp(let segment): flow = (segment.endpoints, true)
        case .udp(let datagram): flow = (datagram.endpoints, false)
        case .other: break
        }
        if let (ends, isTCP) = flow {
            // One entry per flow, whichever direction came first.
            let canonical = ends.canonical
            if flowsSeen.insert(canonical).inserted {
                if flowsSeen.count > CaptureDecoder.maxRememberedFlows {
                    flowsSeen.removeAll(keepingCapacity: true)
                    flowsSeen.insert(canonical)
                }
                flowCount += 1
                let key = isTCP ? FlowKey.tcp(ends) : FlowKey.udp(ends)
                for address in [ends.sourceAddress, ends.destinationAddress] {
                    if let ip = IPAddress(bytes: address) {
                        count += 1
                        try emit(Observable(time: time, evidence: .ipFlow, value: ip.description, key: key, offset: offset))
                    }
                }
            }
        }
        if case .tcp(let segment) = decoded {
            var tcp = self.tcp
            self.tcp = TCPReassembler()
            defer { self.tcp = tcp }
            try tcp.add(segment, time: nanoseconds) { ends, event in
                try self.stream(ends, event, time: time, offset: offset) { count += 1; try emit($0) }
            }
            return
        }
        guard case .udp(let datagram) = decoded else { return }
        let ends = datagram.endpoints
        guard CaptureDecoder.dnsPorts.contains(ends.destinationPort) || CaptureDecoder.dnsPorts.contains(ends.sourcePort),
            let message = dns.parse(datagram.payload)
        else { return }
        let key = FlowKey.udp(ends)
        func observe(_ evidence: Evidence, _ value: String) throws {
            count += 1
            try emit(Observable(time: time, evidence: evidence, value: value, key: key, offset: offset))
        }
        if !message.isResponse {
            for question in message.questions where !question.name.isEmpty { try observe(.dnsQuery, question.name) }
            return
        }
        // Responses: every record's owner name and its A/AAAA address or
        // CNAME/NS/PTR/MX target (the question is the query's evidence).
        for rr in message.records {
            if !rr.owner.isEmpty { try observe(.dnsAnswer, rr.owner) }
            switch rr.data {
            case .address(let bytes):
                if let ip = IPAddress(bytes: bytes) { try observe(.dnsAnswer, ip.description) }
            case .name(let target) where !target.isEmpty:
                try observe(.dnsAnswer, target)
            default:
                break
            }
        }
    }

    /// Ends the input: a partial trailing record becomes an anomaly; a file
    /// too short for a pcap header is an error.
    package mutating func finish(_ emit: (Observable) throws -> Void = { _ in }) throws {
        try reader.finish()
        try finishStreams(emit)
    }

    /// Ends a live capture (no file to finish): reports what open TCP
    /// streams and fragment queues still hold.
    /// `offset` and `time` are what the streams' last observables carry
    /// (default: the packets captured live or the bytes of the file read, and
    /// the last packet's time).
    package mutating func finishStreams(offset: Int64? = nil, time: Timestamp? = nil, _ emit: (Observable) throws -> Void = { _ in }) throws {
        packets.finish()
        var tcp = self.tcp
        self.tcp = TCPReassembler()
        let time = time ?? lastTime ?? Timestamp(nanoseconds: 0)
        let offset = offset ?? (livePackets > 0 ? Int64(livePackets) : reader.consumed)
        var count = observableCount
        try tcp.finish { ends, event in
            try self.stream(ends, event, time: time, offset: offset) { count += 1; try emit($0) }
        }
        observableCount = count
        self.tcp = tcp
    }

    /// Routes one direction's reassembled bytes to its application parser.
    private mutating func stream(
        _ ends: FlowEndpoints, _ event: TCPReassembler.Event, time: Timestamp, offset: Int64, _ emit: (Observable) throws -> Void
    ) throws {
        var flowKey: String? = nil  // formatted only when something is reported
        func report(_ finding: StreamFinding) throws {
            let (evidence, value): (Evidence, String)
            switch finding {
            case .dnsQuery(let v): (evidence, value) = (.dnsQuery, v)
            case .dnsAnswer(let v): (evidence, value) = (.dnsAnswer, v)
            case .dnsAnswerAddress(let bytes):
                guard let ip = IPAddress(bytes: bytes) else { return }
                (evidence, value) = (.dnsAnswer, ip.description)
            case .tlsSNI(let v):
                // RFC 6066 forbids address literals in SNI; one is not a domain.
                if IPAddress(v) != nil {
                    streamAnomalies.record(Anomaly("tls.sni_ip_literal"))
                    return
                }
                (evidence, value) = (.tlsSNI, v)
            case .httpHost(let v): (evidence, value) = (.httpHost, v)
            case .httpURL(let v): (evidence, value) = (.httpURL, v)
            case .smtpMailFrom(let v): (evidence, value) = (.smtpMailFrom, v)
            case .smtpRcptTo(let v): (evidence, value) = (.smtpRcptTo, v)
            }
            if flowKey == nil { flowKey = FlowKey.tcp(ends) }
            try emit(Observable(time: time, evidence: evidence, value: value, key: flowKey!, offset: offset))
        }
        if let payload {
            func hit(_ h: PayloadHit) throws {
                if flowKey == nil { flowKey = FlowKey.tcp(ends) }
                try emit(Observable(time: time, evidence: .payloadMatch, value: h.match.value, key: flowKey!, offset: offset))
            }
            var found: [PayloadHit] = []
            switch event {
            case .end, .gap:
                // A match must not bridge lost bytes: the stream starts over.
                if var p = payloadStreams.removeValue(forKey: ends) { payload.finish(&p) { found.append($0) } }
            case .data(let bytes):
                var p = payloadStreams.removeValue(forKey: ends) ?? PayloadStream()
                bytes.withUnsafeBytes { payload.scan($0, stream: &p, at: time) { found.append($0) } }
                payloadStreams[ends] = p
            }
            for h in found { try hit(h) }
        }
        switch event {
        case .end:
            streams[ends] = nil
        case .gap:
            // A parser cannot resynchronise inside a message it lost bytes of.
            if streams[ends] != nil { streams[ends] = .ignored }
        case .data(let bytes):
            var state = streams[ends] ?? CaptureDecoder.classify(ends, bytes)
            streams[ends] = .ignored  // keep the parser uniquely referenced while it runs
            switch state {
            case .dns(var p): try p.feed(bytes, report); state = .dns(p)
            case .tls(var p):
                try p.feed(bytes, report)
                streamAnomalies.merge(p.anomalies)
                state = p.done ? .ignored : .tls(p)
            case .http(var p): try p.feed(bytes, report); state = .http(p)
            case .smtp(var p): try p.feed(bytes, report); state = .smtp(p)
            case .ignored: break
            }
            streams[ends] = state
        }
    }

    private static func classify(_ ends: FlowEndpoints, _ first: ArraySlice<UInt8>) -> StreamState {
        if ends.destinationPort == 53 || ends.sourcePort == 53 { return .dns(DNSStreamParser()) }
        if first.count >= 2, first.first == 22, first[first.startIndex + 1] == 3 { return .tls(TLSClientHelloParser()) }
        if HTTPRequestParser.looksLikeRequest(first) { return .http(HTTPRequestParser()) }
        if SMTPClientParser.looksLikeClient(first) { return .smtp(SMTPClientParser()) }
        return .ignored
    }
}

/// Text form of flow keys: `udp 10.0.0.1:5353 -> 10.0.0.2:53`, IPv6
/// addresses in brackets. Stable, because it is part of sighting identity.
package enum FlowKey {
    package static func udp(_ e: FlowEndpoints) -> String {
        "udp \(endpoint(e.sourceAddress, e.sourcePort)) -> \(endpoint(e.destinationAddress, e.destinationPort))"
    }

    package static func tcp(_ e: FlowEndpoints) -> String {
        "tcp \(endpoint(e.sourceAddress, e.sourcePort)) -> \(endpoint(e.destinationAddress, e.destinationPort))"
    }

    static func endpoint(_ address: [UInt8], _ port: UInt16) -> String {
        guard let ip = IPAddress(bytes: address) else { return "?:\(port)" }
        return ip.bitWidth == 32 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}
