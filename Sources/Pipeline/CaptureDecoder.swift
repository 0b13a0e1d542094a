import AppProtocols
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
    private var reader = CaptureReader()
    private var packets = PacketDecoder()
    private var dns = DNSParser()
    package private(set) var firstTime: Timestamp?
    package private(set) var lastTime: Timestamp?
    package private(set) var observableCount = 0

    package init(source: String) {
        self.source = source
    }

    /// Records (packets) read so far.
    package var recordCount: Int { reader.recordCount }
    /// Bytes of the file consumed so far.
    package var bytesConsumed: Int64 { reader.consumed }

    /// Anomalies of every layer, merged.
    package var anomalies: AnomalyCounts {
        var all = reader.anomalies
        all.merge(packets.anomalies)
        all.merge(dns.anomalies)
        return all
    }

    /// Feeds the next chunk of the file; `emit` receives each observable in
    /// file order. Throws only when the input is not a capture at all.
    package mutating func feed(_ chunk: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void) throws {
        var packets = self.packets
        var dns = self.dns
        var first = firstTime, last = lastTime, count = observableCount
        defer {
            self.packets = packets
            self.dns = dns
            firstTime = first
            lastTime = last
            observableCount = count
        }
        try reader.feed(chunk) { record in
            let time = Timestamp(nanoseconds: record.timestampNanoseconds)
            if first == nil || time < first! { first = time }
            if last == nil || time > last! { last = time }
            guard case .udp(let datagram) = packets.decode(record.data, linkType: record.linkType, time: record.timestampNanoseconds) else { return }
            let ends = datagram.endpoints
            guard CaptureDecoder.dnsPorts.contains(ends.destinationPort) || CaptureDecoder.dnsPorts.contains(ends.sourcePort),
                let message = dns.parse(datagram.payload)
            else { return }
            let key = FlowKey.udp(ends)
            func observe(_ evidence: Evidence, _ value: String) throws {
                count += 1
                try emit(Observable(time: time, evidence: evidence, value: value, key: key, offset: record.fileOffset))
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
    }

    /// Ends the input: a partial trailing record becomes an anomaly; a file
    /// too short for a pcap header is an error.
    package mutating func finish() throws {
        try reader.finish()
        packets.finish()
    }
}

/// Text form of flow keys: `udp 10.0.0.1:5353 -> 10.0.0.2:53`, IPv6
/// addresses in brackets. Stable, because it is part of sighting identity.
package enum FlowKey {
    package static func udp(_ e: FlowEndpoints) -> String {
        "udp \(endpoint(e.sourceAddress, e.sourcePort)) -> \(endpoint(e.destinationAddress, e.destinationPort))"
    }

    static func endpoint(_ address: [UInt8], _ port: UInt16) -> String {
        guard let ip = IPAddress(bytes: address) else { return "?:\(port)" }
        return ip.bitWidth == 32 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}
