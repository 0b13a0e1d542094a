import GenevaTestSupport
import Indicators
import PacketDecoding
import Pipeline
import Testing
import TelemetryModel

struct DecodeOutcome: Equatable {
    var observables: [Observable] = []
    var anomalies: [String: Int] = [:]
    var records = 0
}

func decode(_ chunks: [ArraySlice<UInt8>]) throws -> DecodeOutcome {
    var decoder = CaptureDecoder(source: "test.pcap")
    var out = DecodeOutcome()
    for chunk in chunks { try decoder.feed(chunk) { out.observables.append($0) } }
    try decoder.finish()
    out.anomalies = decoder.anomalies.counts
    out.records = decoder.recordCount
    return out
}

@Suite struct CaptureDecoderTests {
    /// DNS queries mixed with responses, non-DNS UDP, mDNS, a VLAN-tagged
    /// query, a truncated packet and a fragment.
    static let capture: [UInt8] = {
        var packets: [PacketBuilder.Packet] = []
        func add(_ frame: [UInt8]) {
            packets.append(PacketBuilder.Packet(seconds: 1_782_000_000 + UInt32(packets.count), fraction: 5, data: frame))
        }
        add(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.1", 53, payload: PacketBuilder.dnsQuery(names: ["www.evil.example"]))))
        add(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.1", 53, to: "10.0.0.2", 40000, payload: PacketBuilder.dnsResponse(name: "www.evil.example"))))
        add(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 40001, to: "10.0.0.9", 123, payload: [1, 2, 3])))
        add(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 5353, to: "224.0.0.251", 5353, payload: PacketBuilder.dnsQuery(names: ["printer.local"]))))
        add(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.3", 40002, to: "10.0.0.1", 53, payload: PacketBuilder.dnsQuery(names: ["a.example", "b.example"])), vlan: 42))
        add(Array(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 40003, to: "10.0.0.1", 53, payload: PacketBuilder.dnsQuery(names: ["cut.example"]))).prefix(50)))
        add(PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 40004, to: "10.0.0.1", 53, payload: PacketBuilder.dnsQuery(names: ["frag.example"]), flags: 0x2000)))
        return PacketBuilder.pcap(packets)
    }()

    @Test func extractsQueryNamesWithFlowKeysAndOffsets() throws {
        let all = try decode([Self.capture[...]])
        var out = all
        out.observables = all.observables.filter { $0.evidence == .dnsQuery }
        #expect(out.observables.map(\.value) == ["www.evil.example", "printer.local", "a.example", "b.example"])
        #expect(all.observables.filter { $0.evidence == .ipFlow }.map(\.value).prefix(2) == ["10.0.0.2", "10.0.0.1"], "each flow's addresses once")
        #expect(out.observables[0].key == "udp 10.0.0.2:40000 -> 10.0.0.1:53")
        #expect(out.observables[0].offset == 24)
        #expect(out.observables[0].time == Timestamp(seconds: 1_782_000_000, nanoseconds: 5000))
        #expect(out.records == 7)
        #expect(out.anomalies["ip.fragment_incomplete"] == 1, "the lone first fragment never completes")
        #expect(out.anomalies["dns.truncated_header"] == 1 || out.anomalies["udp.truncated_payload"] == 1)
    }

    @Test func anyChunkingGivesTheSameObservables() throws {
        let whole = try decode([Self.capture[...]])
        #expect(try decode(Self.capture.indices.map { Self.capture[$0...$0] }) == whole)
        var rng = SeededGenerator(seed: 2026)
        for _ in 0..<300 {
            #expect(try decode(randomChunks(Self.capture, using: &rng, maxChunk: 200)) == whole)
        }
    }

    @Test func matchingThroughTheIndicatorSet() throws {
        let t = Timestamp(seconds: 1_700_000_000)
        let set = IndicatorSet(entries: [
            IndicatorEntry(indicatorID: 1, kind: .domain, value: "evil.example", validFrom: t, validUntil: nil),
            IndicatorEntry(indicatorID: 2, kind: .domain, value: "b.example", validFrom: t, validUntil: t),
        ])
        let out = try decode([Self.capture[...]])
        let hits = out.observables.filter { $0.evidence != .ipFlow }.flatMap { o in set.matches(o).map { (o.value, $0.indicatorID) } }
        #expect(hits.map(\.0) == ["www.evil.example"])
    }

    /// Payload matching over reassembled TCP: a value split across two
    /// segments is found, a value inside a longer token is not, and only the
    /// matched value is kept.
    @Test func payloadMatchesAcrossSegments() throws {
        let t = Timestamp(seconds: 1_700_000_000)
        let set = IndicatorSet(entries: [
            IndicatorEntry(indicatorID: 1, kind: .domain, value: "c2.evil-payload.example", validFrom: t, validUntil: nil),
            IndicatorEntry(indicatorID: 2, kind: .ipv4, value: "203.0.113.7", validFrom: t, validUntil: nil),
        ])
        let payload = try PayloadMatcher(set)
        let first = Array("POST /beacon HTTP/1.1\r\nHost: a.example\r\nX-Relay: c2.evil-pay".utf8)
        let second = Array("load.example; via 203.0.113.70 and 203.0.113.7\r\n\r\n".utf8)
        var packets: [PacketBuilder.Packet] = []
        func add(_ ip: [UInt8]) { packets.append(PacketBuilder.Packet(seconds: 1_782_000_000 + UInt32(packets.count), data: PacketBuilder.ethernet(ip))) }
        add(PacketBuilder.tcpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.80", 8080, seq: 100, flags: 0x02))
        add(PacketBuilder.tcpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.80", 8080, seq: 101, payload: first))
        add(PacketBuilder.tcpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.80", 8080, seq: 101 + UInt32(first.count), payload: second))
        add(PacketBuilder.tcpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.80", 8080, seq: 101 + UInt32(first.count + second.count), flags: 0x11))
        let capture = PacketBuilder.pcap(packets)
        var rng = SeededGenerator(seed: 5)
        for chunks in [[capture[...]], randomChunks(capture, using: &rng, maxChunk: 40)] {
            var decoder = CaptureDecoder(source: "t.pcap", payload: payload)
            var found: [Observable] = []
            for chunk in chunks { try decoder.feed(chunk) { found.append($0) } }
            try decoder.finish { found.append($0) }
            let hits = found.filter { $0.evidence == .payloadMatch }
            #expect(hits.map(\.value).sorted() == ["203.0.113.7", "c2.evil-payload.example"])
            #expect(hits.allSatisfy { $0.key == "tcp 10.0.0.2:40000 -> 10.0.0.80:8080" })
            #expect(hits.flatMap { set.matches($0) }.map(\.indicatorID).sorted() == [1, 2])
        }
    }
}
