import GenevaTestSupport
import PacketDecoding
import Testing
import WireParsing

/// What a reader yields, in a comparable form.
struct ReadOutcome: Equatable {
    var records: [[Int64]] = []  // [time, original length, offset, first byte]
    var bodies: [[UInt8]] = []
    var anomalies = AnomalyCounts()
}

/// Reads a capture through `CaptureReader` (classic pcap here, pcapng in
/// PcapngAndLinkTests), chunk by chunk.
func read(_ chunks: [ArraySlice<UInt8>]) throws -> ReadOutcome {
    var reader = CaptureReader()
    var out = ReadOutcome()
    for chunk in chunks {
        try reader.feed(chunk) { r in
            out.records.append([r.timestampNanoseconds, Int64(r.originalLength), r.fileOffset, Int64(r.linkType)])
            out.bodies.append(Array(r.data))
        }
    }
    try reader.finish()
    out.anomalies = reader.anomalies
    return out
}

@Suite struct PcapReaderTests {
    static let packets: [PacketBuilder.Packet] = (0..<20).map { (i: Int) -> PacketBuilder.Packet in
        let length: Int = i * 7 % 90
        let body: [UInt8] = (0..<length).map { (j: Int) -> UInt8 in UInt8(truncatingIfNeeded: j &+ i) }
        return PacketBuilder.Packet(seconds: 1_300_000_000 + UInt32(i), fraction: UInt32(i * 37), data: body)
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func readsBothByteOrdersAndResolutions(bigEndian: Bool, nano: Bool) throws {
        let file = PacketBuilder.pcap(Self.packets, bigEndian: bigEndian, nanosecond: nano)
        let out = try read([file[...]])
        #expect(out.records.count == 20)
        #expect(out.bodies == Self.packets.map { $0.data })
        let scale: Int64 = nano ? 1 : 1000
        let expected: Int64 = 1_300_000_003 * 1_000_000_000 + 3 * 37 * scale
        #expect(out.records[3][0] == expected)
        #expect(out.records[0][2] == 24, "the first record starts after the file header")
        #expect(out.anomalies.isEmpty)
    }

    @Test func dripFeedGivesTheSameRecordsForEveryChunking() throws {
        let file = PacketBuilder.pcap(Self.packets)
        let whole = try read([file[...]])
        let byteByByte = try read(file.indices.map { file[$0...$0] })
        #expect(byteByByte == whole)
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            #expect(try read(randomChunks(file, using: &rng, maxChunk: 100)) == whole)
        }
    }

    @Test func truncatedLastRecordIsAnAnomalyAndEarlierRecordsSurvive() throws {
        let file = PacketBuilder.pcap(Self.packets)
        let cut = Array(file.dropLast(5))
        let out = try read([cut[...]])
        #expect(out.records.count == 19)
        #expect(out.anomalies["pcap.truncated_record"] == 1)
        let cutInHeader = Array(file.prefix(24 + 16 + Self.packets[0].data.count + 7))
        #expect(try read([cutInHeader[...]]).anomalies["pcap.truncated_record_header"] == 1)
    }

    @Test func notAPcapIsAnError() {
        let gzip: [UInt8] = [0x1F, 0x8B, 0x08, 0x08] + Array(repeating: 0, count: 40)
        #expect(throws: PcapError.notPcap(magic: [0x1F, 0x8B, 0x08, 0x08])) { try read([gzip[...]]) }
        #expect(throws: PcapError.truncatedFileHeader(length: 0)) { try read([]) }
        #expect(throws: PcapError.truncatedFileHeader(length: 10)) { try read([PacketBuilder.pcap([]).prefix(10)]) }
        var text = Array("hello, this is plain text and not a capture".utf8)[...]
        #expect(throws: PcapError.self) { try read([text]) }
        text = Array("he".utf8)[...]
        #expect(throws: PcapError.truncatedFileHeader(length: 2)) { try read([text]) }
    }

    @Test func absurdRecordLengthStopsFramingButKeepsWhatCameBefore() throws {
        var file = PacketBuilder.pcap(Array(Self.packets.prefix(3)))
        // A record header claiming 3,925,868,813 bytes, as in suricata-smtp-to-comma-corrupt.pcap.
        file += [0, 0, 0, 0, 0, 0, 0, 0, 0x0D, 0x2B, 0xFF, 0xE9, 0, 0, 0, 0] + Array(repeating: 0xAA, count: 100)
        let out = try read([file[...]])
        #expect(out.records.count == 3)
        #expect(out.anomalies["pcap.bad_record_length"] == 1)
    }

    @Test func randomGarbageAfterAValidHeaderNeverTraps() throws {
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<300 {
            let garbage = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let file = PacketBuilder.pcap([]) + garbage
            _ = try read(randomChunks(file, using: &rng))
        }
    }
}

@Suite struct PacketDecoderTests {
    let dns = PacketBuilder.dnsQuery(names: ["example.com"])

    @Test func decodesEthernetIPv4UDP() throws {
        var decoder = PacketDecoder()
        let frame = PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.1", 53, payload: dns) + [0, 0, 0])
        guard case .udp(let udp) = decoder.decode(frame[...], linkType: LinkType.ethernet) else {
            Issue.record("not decoded as UDP")
            return
        }
        #expect(udp.endpoints.sourceAddress == [10, 0, 0, 2])
        #expect(udp.endpoints.destinationPort == 53)
        #expect(Array(udp.payload) == dns, "Ethernet padding after the IP total length is cut")
        #expect(decoder.anomalies.isEmpty)
    }

    @Test func peelsVLANTags() {
        var decoder = PacketDecoder()
        let inner = PacketBuilder.udpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.1", 53, payload: dns)
        var frame = PacketBuilder.ethernet(inner, vlan: 42)
        guard case .udp = decoder.decode(frame[...], linkType: LinkType.ethernet) else {
            Issue.record("802.1Q not decoded")
            return
        }
        // Five stacked tags is hostile.
        frame = Array(frame[0..<12]) + Array(repeating: [0x81, 0x00, 0x00, 0x01], count: 5).flatMap { $0 } + [0x08, 0x00] + inner
        guard case .other = decoder.decode(frame[...], linkType: LinkType.ethernet) else {
            Issue.record("too many tags accepted")
            return
        }
        #expect(decoder.anomalies["vlan.truncated_or_too_many_tags"] == 1)
    }

    @Test func malformedHeadersAreNamedAnomalies() {
        var decoder = PacketDecoder()
        var ip = PacketBuilder.udpIPv4(from: "10.0.0.2", 1, to: "10.0.0.1", 53, payload: dns)
        ip[0] = 0x44  // IHL 4 words < 20 bytes
        _ = decoder.decode(PacketBuilder.ethernet(ip)[...], linkType: 1)
        #expect(decoder.anomalies["ipv4.bad_header_length"] == 1)

        _ = decoder.decode([1, 2, 3][...], linkType: 1)
        #expect(decoder.anomalies["ethernet.truncated_header"] == 1)

        let fragment = PacketBuilder.udpIPv4(from: "10.0.0.2", 1, to: "10.0.0.1", 53, payload: dns, flags: 0x2000)
        _ = decoder.decode(PacketBuilder.ethernet(fragment)[...], linkType: 1)
        decoder.finish()
        #expect(decoder.anomalies["ip.fragment_incomplete"] == 1, "a lone fragment waits for the rest, then is counted")

        let full = PacketBuilder.udpIPv4(from: "10.0.0.2", 1, to: "10.0.0.1", 53, payload: dns)
        _ = decoder.decode(PacketBuilder.ethernet(Array(full.prefix(30)))[...], linkType: 1)
        #expect(decoder.anomalies["ipv4.truncated_payload"] == 1)
    }

    @Test func everyTruncationOfAFrameIsSafe() {
        var decoder = PacketDecoder()
        let frame = PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.1", 53, payload: dns), vlan: 7)
        for n in 0...frame.count { _ = decoder.decode(frame.prefix(n), linkType: LinkType.ethernet) }
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            var mutated = frame
            for _ in 0..<3 { mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = decoder.decode(mutated[...], linkType: LinkType.ethernet)
            _ = decoder.decode(mutated[14...], linkType: LinkType.raw)
        }
    }
}
