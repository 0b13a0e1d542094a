import GenevaTestSupport
import PacketDecoding
import Testing
import WireParsing

@Suite struct PcapngReaderTests {
    static let query = PacketBuilder.dnsQuery(names: ["a.example"])
    static let file = PacketBuilder.pcapng(
        interfaces: [LinkType.ethernet, LinkType.raw], nanosecondInterfaces: [1],
        packets: [
            (0, 1_700_000_000_123_456, PacketBuilder.ethernet(PacketBuilder.udpIPv4(from: "10.0.0.2", 1000, to: "10.0.0.1", 53, payload: query))),
            (1, 1_700_000_000_123_456_789, PacketBuilder.udpIPv4(from: "10.0.0.3", 1001, to: "10.0.0.1", 53, payload: query)),
            (0, 1_700_000_001_000_000, [1, 2, 3]),
        ])

    @Test func readsInterfacesResolutionsAndSkipsUnknownBlocks() throws {
        let out = try read([Self.file[...]])
        #expect(out.records.count == 3)
        #expect(out.records.map { $0[3] } == [1, 101, 1], "each packet carries its interface's link type")
        #expect(out.records[0][0] == 1_700_000_000_123_456_000, "microseconds by default")
        #expect(out.records[1][0] == 1_700_000_000_123_456_789, "if_tsresol 9: nanoseconds")
        #expect(out.bodies[2] == [1, 2, 3])
        #expect(out.anomalies.isEmpty)
    }

    @Test func dripFeedGivesTheSameRecords() throws {
        let whole = try read([Self.file[...]])
        #expect(try read(Self.file.indices.map { Self.file[$0...$0] }) == whole)
        var rng = SeededGenerator(seed: 17)
        for _ in 0..<200 { #expect(try read(randomChunks(Self.file, using: &rng, maxChunk: 50)) == whole) }
    }

    @Test func damageIsAnAnomalyAndGarbageNeverTraps() throws {
        let cut = try read([Self.file.dropLast(6)])
        #expect(cut.records.count == 2 && cut.anomalies["pcapng.truncated_block"] == 1)
        var bad = Self.file
        bad[28 + 6] = 0xFF  // the first interface block claims 16 MB
        #expect(try read([bad[...]]).anomalies["pcapng.bad_block_length"] == 1)
        var badHeader = Self.file
        badHeader[6] = 0xFF  // a broken section header: nothing can be read
        #expect(throws: PcapError.self) { try read([badHeader[...]]) }
        var rng = SeededGenerator(seed: 23)
        for _ in 0..<500 {
            var mutated = Self.file
            for _ in 0..<4 { mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = try? read(randomChunks(mutated, using: &rng, maxChunk: 64))
        }
    }

    @Test func timestampResolutionArithmeticNeverOverflows() {
        // 2^-30 units: the fraction times 10^9 needs more than 64 bits.
        let units: UInt64 = 1 << 30
        let t = (UInt64(1_700_000_000) << 30) | (units - 1)
        let ns = PcapngReaderTestHook.nanoseconds(t, unitsPerSecond: units)
        #expect(ns == 1_700_000_000 * 1_000_000_000 + 999_999_999)
    }
}

@Suite struct LinkLayerTests {
    let udp = PacketBuilder.udpIPv4(from: "10.0.0.2", 40000, to: "10.0.0.1", 53, payload: PacketBuilder.dnsQuery(names: ["x.example"]))

    func isUDP(_ frame: [UInt8], _ link: UInt32) -> Bool {
        var d = PacketDecoder()
        if case .udp = d.decode(frame[...], linkType: link) { return true }
        return false
    }

    @Test func linuxCookedNullLoopbackAndRaw() {
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]
        #expect(isUDP(sll + udp, LinkType.linuxSLL))
        let sll2: [UInt8] = [0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]
        #expect(isUDP(sll2 + udp, LinkType.linuxSLL2))
        #expect(isUDP([2, 0, 0, 0] + udp, LinkType.null), "little-endian AF_INET")
        #expect(isUDP([0, 0, 0, 2] + udp, LinkType.null), "big-endian AF_INET")
        #expect(isUDP(udp, LinkType.raw) && isUDP(udp, 12) && isUDP(udp, LinkType.ipv4))
    }

    @Test func ipv6WithExtensionHeadersAndFragments() {
        let dns = PacketBuilder.dnsQuery(names: ["v6.example"])
        let udpHeader = PacketBuilder.be16(5353) + PacketBuilder.be16(53) + PacketBuilder.be16(UInt16(8 + dns.count)) + PacketBuilder.be16(0)
        func ipv6(next: UInt8, _ payload: [UInt8]) -> [UInt8] {
            [0x60, 0, 0, 0] + PacketBuilder.be16(UInt16(payload.count)) + [next, 64] + Array(repeating: 0x20, count: 16)
                + Array(repeating: 0x30, count: 16) + payload
        }
        var d = PacketDecoder()
        let plain = ipv6(next: 17, udpHeader + dns)
        guard case .udp(let u) = d.decode(plain[...], linkType: LinkType.raw) else {
            Issue.record("IPv6/UDP not decoded")
            return
        }
        #expect(u.endpoints.sourceAddress.count == 16 && u.endpoints.destinationPort == 53 && Array(u.payload) == dns)
        let ethernetIPv6: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xDD]
        #expect(isUDP(ethernetIPv6 + plain, LinkType.ethernet))
        // Hop-by-hop options, then UDP.
        let hop: [UInt8] = [17, 0, 1, 4, 0, 0, 0, 0]
        #expect(isUDP(ipv6(next: 0, hop + udpHeader + dns), LinkType.raw))
        // A real fragment (more fragments set) is counted, not decoded as a whole datagram.
        let fragment: [UInt8] = [17, 0, 0, 1, 0, 0, 0, 7]
        guard case .other = d.decode(ipv6(next: 44, fragment + udpHeader + dns)[...], linkType: LinkType.raw) else {
            Issue.record("fragment decoded as a whole datagram")
            return
        }
        d.finish()
        #expect(d.anomalies["ip.fragment_incomplete"] == 1)
        // Every truncation and a loop of extension headers are safe.
        for n in 0...plain.count { _ = d.decode(plain.prefix(n), linkType: LinkType.raw) }
        let loop = ipv6(next: 60, Array(repeating: [60, 0, 0, 0, 0, 0, 0, 0], count: 20).flatMap { $0 })
        _ = d.decode(loop[...], linkType: LinkType.raw)
        #expect(d.anomalies["ipv6.too_many_extension_headers"] == 1)
    }
}
