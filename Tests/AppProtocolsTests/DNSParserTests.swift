import AppProtocols
import GenevaTestSupport
import Testing
import WireParsing

@Suite struct DNSParserTests {
    @Test func parsesQuestions() throws {
        var parser = DNSParser()
        let parsed = parser.parse(PacketBuilder.dnsQuery(id: 7, names: ["www.Example.com", "b.org"], qtype: 28)[...])
        let message = try #require(parsed)
        #expect(message.id == 7)
        #expect(!message.isResponse)
        #expect(message.questions.map(\.name) == ["www.Example.com", "b.org"])
        #expect(message.questions.allSatisfy { $0.type == 28 && $0.qclass == 1 })
        #expect(parser.anomalies.isEmpty)
    }

    @Test func followsCompressionPointers() throws {
        // Question 1: www.example.com; question 2: mail + pointer to "example.com" at offset 16.
        var bytes = PacketBuilder.be16(1) + PacketBuilder.be16(0x0100) + PacketBuilder.be16(2) + Array(repeating: 0, count: 6)
        bytes += PacketBuilder.dnsName("www.example.com") + PacketBuilder.be16(1) + PacketBuilder.be16(1)
        bytes += [4] + Array("mail".utf8) + [0xC0, 16] + PacketBuilder.be16(1) + PacketBuilder.be16(1)
        var parser = DNSParser()
        let parsed = parser.parse(bytes[...])
        let message = try #require(parsed)
        #expect(message.questions.map(\.name) == ["www.example.com", "mail.example.com"])
    }

    @Test func pointerLoopsAreCutOff() throws {
        var bytes = PacketBuilder.be16(1) + PacketBuilder.be16(0x0100) + PacketBuilder.be16(1) + Array(repeating: 0, count: 6)
        bytes += [0xC0, 12]  // points at itself
        var parser = DNSParser()
        let parsed = parser.parse(bytes[...])
        let message = try #require(parsed)
        #expect(message.questions.isEmpty)
        #expect(parser.anomalies["dns.compression_loop"] == 1)
    }

    @Test func truncationAndOddBytesAreAnomaliesNotTraps() throws {
        var parser = DNSParser()
        let none = parser.parse([1, 2, 3][...])
        #expect(none == nil)
        #expect(parser.anomalies["dns.truncated_header"] == 1)
        let query = PacketBuilder.dnsQuery(names: ["abc.example"])
        for n in 0..<query.count { _ = parser.parse(query.prefix(n)) }
        #expect(parser.anomalies["dns.truncated_name"] > 0)

        var weird = PacketBuilder.be16(1) + PacketBuilder.be16(0) + PacketBuilder.be16(1) + Array(repeating: 0, count: 6)
        weird += [3, 0x61, 0x2E, 0x00, 3] + Array("com".utf8) + [0] + PacketBuilder.be16(1) + PacketBuilder.be16(1)
        let parsed = parser.parse(weird[...])
        let message = try #require(parsed)
        #expect(message.questions.first?.name == "a\\046\\000.com", "dots and control bytes inside a label are escaped")
    }

    @Test func randomMutationsNeverTrap() {
        var parser = DNSParser()
        var rng = SeededGenerator(seed: 11)
        let base = PacketBuilder.dnsQuery(names: ["a.example.com", "bb.example.org", "c.d.e.f"])
        for _ in 0..<5000 {
            var bytes = base
            for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = parser.parse(bytes[...])
        }
    }
}

@Suite struct DNSAnswerTests {
    @Test func answersWithCompressedNamesAndAddresses() throws {
        // Response: question www.example.com; answers CNAME www -> cdn.example.net, A and AAAA for cdn.
        var m = PacketBuilder.be16(9) + PacketBuilder.be16(0x8180) + PacketBuilder.be16(1) + PacketBuilder.be16(3) + PacketBuilder.be16(0) + PacketBuilder.be16(0)
        m += PacketBuilder.dnsName("www.example.com") + PacketBuilder.be16(1) + PacketBuilder.be16(1)
        let cnameTarget = PacketBuilder.dnsName("cdn.example.net")
        m += [0xC0, 12] + PacketBuilder.be16(5) + PacketBuilder.be16(1) + [0, 0, 0, 60] + PacketBuilder.be16(UInt16(cnameTarget.count)) + cnameTarget
        let cdnOffset = UInt8(12 + 17 + 4 + 12)
        m += [0xC0, cdnOffset] + PacketBuilder.be16(1) + PacketBuilder.be16(1) + [0, 0, 0, 60] + PacketBuilder.be16(4) + [192, 0, 2, 7]
        m += [0xC0, cdnOffset] + PacketBuilder.be16(28) + PacketBuilder.be16(1) + [0, 0, 0, 60] + PacketBuilder.be16(16) + [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        var parser = DNSParser()
        let parsed = parser.parse(m[...])
        let message = try #require(parsed)
        #expect(message.isResponse)
        #expect(message.records.map(\.owner) == ["www.example.com", "cdn.example.net", "cdn.example.net"])
        #expect(message.records.map(\.data) == [.name("cdn.example.net"), .address([192, 0, 2, 7]), .address([0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1])])
        #expect(parser.anomalies.isEmpty)
        // Cut anywhere: never a trap, records before the cut kept.
        for n in 0..<m.count { _ = parser.parse(m.prefix(n)) }
    }
}
