import GenevaTestSupport
import PacketDecoding
import Testing
import WireParsing

@Suite struct FragmentReassemblerTests {
    /// An IPv4/UDP/DNS datagram cut into 8-byte-aligned fragments.
    static let dns = PacketBuilder.dnsQuery(names: (0..<12).map { "label\($0).fragmented.example" })
    static func fragments(size: Int = 48) -> [[UInt8]] {
        let udp = PacketBuilder.be16(40000) + PacketBuilder.be16(53) + PacketBuilder.be16(UInt16(8 + dns.count)) + PacketBuilder.be16(0) + dns
        var out: [[UInt8]] = []
        var offset = 0
        while offset < udp.count {
            let end = min(udp.count, offset + size)
            let more: UInt16 = end < udp.count ? 0x2000 : 0
            let body = Array(udp[offset..<end])
            let header: [UInt8] = [0x45, 0] + PacketBuilder.be16(UInt16(20 + body.count)) + PacketBuilder.be16(0x4242)
                + PacketBuilder.be16(more | UInt16(offset / 8)) + [64, 17, 0, 0] + [10, 0, 0, 2] + [10, 0, 0, 1]
            out.append(header + body)
            offset = end
        }
        return out
    }

    func decodeAll(_ packets: [[UInt8]]) -> (payloads: [[UInt8]], anomalies: AnomalyCounts) {
        var d = PacketDecoder()
        var payloads: [[UInt8]] = []
        for (i, p) in packets.enumerated() {
            if case .udp(let u) = d.decode(p[...], linkType: LinkType.raw, time: Int64(i) * 1_000_000) { payloads.append(Array(u.payload)) }
        }
        d.finish()
        return (payloads, d.anomalies)
    }

    @Test func anyOrderOfFragmentsGivesTheDatagram() {
        let parts = Self.fragments()
        #expect(parts.count > 4)
        #expect(decodeAll(parts).payloads == [Self.dns])
        #expect(decodeAll(parts.reversed()).payloads == [Self.dns])
        var rng = SeededGenerator(seed: 31)
        for _ in 0..<100 {
            let (payloads, anomalies) = decodeAll(parts.shuffled(using: &rng))
            #expect(payloads == [Self.dns])
            #expect(anomalies.isEmpty)
        }
    }

    @Test func duplicatesAreHarmlessAndDisagreementsCounted() {
        var parts = Self.fragments()
        parts.insert(parts[1], at: 2)  // a retransmitted fragment
        #expect(decodeAll(parts).payloads == [Self.dns])
        var forged = Self.fragments()
        var evil = forged[1]
        evil[evil.count - 1] ^= 0xFF
        forged.insert(evil, at: 1)  // overlapping copy with other bytes arrives first
        let (payloads, anomalies) = decodeAll(forged)
        #expect(payloads.count == 1)
        #expect(anomalies["ip.fragment_overlap_mismatch"] == 1)
    }

    @Test func limitsHold() {
        var d = PacketDecoder()
        let parts = Self.fragments()
        // Only the first fragment: incomplete at the end.
        _ = d.decode(parts[0][...], linkType: LinkType.raw, time: 0)
        // A fragment 31 s later expires it.
        _ = d.decode(parts[1][...], linkType: LinkType.raw, time: 31_000_000_000)
        #expect(d.anomalies["ip.fragment_timeout"] == 1)
        d.finish()
        #expect(d.anomalies["ip.fragment_incomplete"] == 1)
        // A flood of distinct first fragments stays bounded.
        var flood = PacketDecoder()
        for id in 0..<(FragmentReassembler.maxPendingDatagrams + 50) {
            var p = parts[0]
            p[4] = UInt8(id >> 8)
            p[5] = UInt8(id & 0xFF)
            _ = flood.decode(p[...], linkType: LinkType.raw, time: 0)
        }
        #expect(flood.anomalies["ip.fragment_evicted"] == 50)
        // An offset pushing past 64 KiB is refused.
        var far = parts[1]
        far[6] = 0x3F
        far[7] = 0xFF
        var e = PacketDecoder()
        _ = e.decode(far[...], linkType: LinkType.raw, time: 0)
        #expect(e.anomalies["ip.fragment_too_long"] == 1)
    }
}
