/// Builds capture bytes for tests: classic pcap files with Ethernet / IPv4 /
/// UDP / DNS frames, in either byte order and timestamp resolution.
package enum PacketBuilder {
    package static func ipv4(_ text: String) -> [UInt8] {
        text.split(separator: ".").map { UInt8($0)! }
    }

    package static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    package static func dnsName(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        return out + [0]
    }

    /// A DNS query (QR=0) for each name, all in one message.
    package static func dnsQuery(id: UInt16 = 0x1234, names: [String], qtype: UInt16 = 1) -> [UInt8] {
        var out = be16(id) + be16(0x0100) + be16(UInt16(names.count)) + be16(0) + be16(0) + be16(0)
        for name in names { out += dnsName(name) + be16(qtype) + be16(1) }
        return out
    }

    package static func dnsResponse(id: UInt16 = 0x1234, name: String) -> [UInt8] {
        be16(id) + be16(0x8180) + be16(1) + be16(0) + be16(0) + be16(0) + dnsName(name) + be16(1) + be16(1)
    }

    package static func udpIPv4(
        from src: String, _ sport: UInt16, to dst: String, _ dport: UInt16, payload: [UInt8], flags: UInt16 = 0x4000
    ) -> [UInt8] {
        let udp = be16(sport) + be16(dport) + be16(UInt16(8 + payload.count)) + be16(0) + payload
        let total = UInt16(20 + udp.count)
        return [0x45, 0] + be16(total) + be16(1) + be16(flags) + [64, 17] + be16(0) + ipv4(src) + ipv4(dst) + udp
    }

    /// One TCP segment over IPv4 (checksums zero: decoders do not verify them).
    /// `flags`: 0x02 SYN, 0x10 ACK, 0x18 PSH+ACK, 0x11 FIN+ACK.
    package static func tcpIPv4(
        from src: String, _ sport: UInt16, to dst: String, _ dport: UInt16, seq: UInt32, flags: UInt8 = 0x18, payload: [UInt8] = []
    ) -> [UInt8] {
        let seqBytes = [UInt8(seq >> 24), UInt8(seq >> 16 & 0xFF), UInt8(seq >> 8 & 0xFF), UInt8(seq & 0xFF)]
        let tcp = be16(sport) + be16(dport) + seqBytes + [0, 0, 0, 1] + [0x50, flags] + be16(65535) + be16(0) + be16(0) + payload
        let total = UInt16(20 + tcp.count)
        return [0x45, 0] + be16(total) + be16(1) + be16(0x4000) + [64, 6] + be16(0) + ipv4(src) + ipv4(dst) + tcp
    }

    package static func ethernet(_ ip: [UInt8], vlan: UInt16? = nil) -> [UInt8] {
        var out: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]
        if let vlan { out += be16(0x8100) + be16(vlan) }
        return out + be16(0x0800) + ip
    }

    package struct Packet {
        package var seconds: UInt32
        package var fraction: UInt32
        package var data: [UInt8]

        package init(seconds: UInt32, fraction: UInt32 = 0, data: [UInt8]) {
            self.seconds = seconds
            self.fraction = fraction
            self.data = data
        }
    }

    package static func pcap(_ packets: [Packet], bigEndian: Bool = false, nanosecond: Bool = false, linkType: UInt32 = 1) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] {
            let b = [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            return bigEndian ? b : b.reversed()
        }
        func u16(_ v: UInt16) -> [UInt8] { bigEndian ? be16(v) : be16(v).reversed() }
        var out = u32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4) + u16(2) + u16(4) + u32(0) + u32(0) + u32(65535) + u32(linkType)
        for p in packets {
            out += u32(p.seconds) + u32(p.fraction) + u32(UInt32(p.data.count)) + u32(UInt32(p.data.count)) + p.data
        }
        return out
    }

    /// A pcapng file: one section (little-endian), one interface per link
    /// type given, then Enhanced Packet Blocks (timestamps in the interface's
    /// default microseconds, or nanoseconds when `nanosecondInterfaces`
    /// contains it). A custom block (type 0xBAD) sits between packets: readers skip it.
    package static func pcapng(interfaces: [UInt32], nanosecondInterfaces: Set<Int> = [], packets: [(interface: Int, time: UInt64, data: [UInt8])]) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + Array(repeating: 0, count: (4 - body.count % 4) % 4)
            let length = UInt32(12 + padded.count)
            return u32(type) + u32(length) + padded + u32(length)
        }
        var out = block(0x0A0D_0D0A, u32(0x1A2B_3C4D) + u16(1) + u16(0) + u32(0xFFFF_FFFF) + u32(0xFFFF_FFFF))
        for (i, link) in interfaces.enumerated() {
            var options: [UInt8] = []
            if nanosecondInterfaces.contains(i) { options = u16(9) + u16(1) + [9, 0, 0, 0] + u16(0) + u16(0) }
            out += block(1, u16(UInt16(link)) + u16(0) + u32(65535) + options)
        }
        for (n, p) in packets.enumerated() {
            out += block(6, u32(UInt32(p.interface)) + u32(UInt32(p.time >> 32)) + u32(UInt32(p.time & 0xFFFF_FFFF))
                + u32(UInt32(p.data.count)) + u32(UInt32(p.data.count)) + p.data)
            if n == 0 { out += block(0xBAD, [1, 2, 3]) }
        }
        return out
    }

    /// A pcap with one DNS query per name, one second apart from `start`.
    package static func dnsCapture(names: [String], start: UInt32 = 1_782_000_000) -> [UInt8] {
        pcap(names.enumerated().map { i, name in
            Packet(seconds: start + UInt32(i), fraction: UInt32(i * 1000),
                   data: ethernet(udpIPv4(from: "10.0.0.2", UInt16(40000 + i), to: "10.0.0.1", 53, payload: dnsQuery(id: UInt16(i), names: [name]))))
        })
    }
}

/// Deterministic pseudo-random numbers (SplitMix64) so that randomised tests
/// reproduce from their seed.
package struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Splits `bytes` into consecutive chunks at random cut points (possibly
/// empty chunks), or every byte alone when `cuts` is nil.
package func randomChunks(_ bytes: [UInt8], using rng: inout SeededGenerator, maxChunk: Int = 64) -> [ArraySlice<UInt8>] {
    var chunks: [ArraySlice<UInt8>] = []
    var i = 0
    while i < bytes.count {
        let n = Int.random(in: 0...maxChunk, using: &rng)
        let end = min(bytes.count, i + n)
        chunks.append(bytes[i..<end])
        i = end
    }
    return chunks
}

/// Paths of the repository and of `../shared/fixtures-real`.
package enum RepoPaths {
    package static func root(_ file: String = #filePath) -> String {
        var parts = file.split(separator: "/", omittingEmptySubsequences: false)
        // …/Tests/Support/PacketBuilder.swift → repository root
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    package static var fixturesReal: String { root() + "/../shared/fixtures-real" }
    package static var fixtures: String { root() + "/Fixtures" }
}
