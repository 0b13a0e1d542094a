import WireParsing

/// Link-layer types this decoder understands (pcap-linktype(7) numbers).
package enum LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    package static let null: UInt32 = 0
    package static let ethernet: UInt32 = 1
    /// Raw IP (101; OpenBSD and others write 12 or 14 for the same thing).
    package static let raw: UInt32 = 101
    package static let rawAlternatives: Set<UInt32> = [12, 14]
    /// OpenBSD loopback: like null but the family is in network byte order.
    package static let loop: UInt32 = 108
    package static let linuxSLL: UInt32 = 113
    package static let ipv4: UInt32 = 228
    package static let ipv6: UInt32 = 229
    package static let linuxSLL2: UInt32 = 276
}

/// A transport endpoint pair as seen in one packet. Addresses are packed
/// into words (no heap allocation per packet; cheap to hash as a flow key).
package struct FlowEndpoints: Hashable, Sendable {
    /// An IPv4 (in `low`) or IPv6 address.
    struct PackedAddress: Hashable, Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var isV6 = false

        init(_ bytes: some Collection<UInt8>) {
            isV6 = bytes.count == 16
            for (i, b) in bytes.enumerated() {
                if isV6, i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
            }
        }

        var bytes: [UInt8] {
            if isV6 {
                return (0..<8).map { UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * $0)) }
                    + (0..<8).map { UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * $0)) }
            }
            return (0..<4).map { UInt8(truncatingIfNeeded: low >> UInt64(24 - 8 * $0)) }
        }
    }

    private var source: PackedAddress
    private var destination: PackedAddress
    package var sourcePort: UInt16
    package var destinationPort: UInt16

    /// 4 (IPv4) or 16 (IPv6) network-order bytes.
    package var sourceAddress: [UInt8] { source.bytes }
    package var destinationAddress: [UInt8] { destination.bytes }

    package init(sourceAddress: some Collection<UInt8>, destinationAddress: some Collection<UInt8>, sourcePort: UInt16, destinationPort: UInt16) {
        self.source = PackedAddress(sourceAddress)
        self.destination = PackedAddress(destinationAddress)
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    private init(source: PackedAddress, destination: PackedAddress, sourcePort: UInt16, destinationPort: UInt16) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    /// The other direction of the same flow.
    package var reversed: FlowEndpoints {
        FlowEndpoints(source: destination, destination: source, sourcePort: destinationPort, destinationPort: sourcePort)
    }

    /// The same for both directions of a flow: the direction whose source
    /// (address words, then port) orders first.
    package var canonical: FlowEndpoints {
        let forward = (source.high, source.low, sourcePort), backward = (destination.high, destination.low, destinationPort)
        return forward <= backward ? self : reversed
    }

    /// Five words instead of the synthesized eight mixed-width ones (a flow
    /// is hashed once or twice per packet): every stored field goes in, so
    /// equal values hash equally.
    package func hash(into hasher: inout Hasher) {
        hasher.combine(source.high)
        hasher.combine(source.low)
        hasher.combine(destination.high)
        hasher.combine(destination.low)
        hasher.combine(UInt64(sourcePort) << 32 | UInt64(destinationPort) << 16
            | (source.isV6 ? 2 : 0) | (destination.isV6 ? 1 : 0))
    }
}

/// A UDP datagram extracted from a packet.
package struct UDPDatagram: Sendable {
    package var endpoints: FlowEndpoints
    package var payload: ArraySlice<UInt8>
}

/// What a packet decoded to, as far as this slice goes.
/// A TCP segment extracted from a packet.
package struct TCPSegment: Sendable {
    package var endpoints: FlowEndpoints
    package var sequence: UInt32
    package var flags: UInt8
    package var payload: ArraySlice<UInt8>

    package init(endpoints: FlowEndpoints, sequence: UInt32, flags: UInt8, payload: ArraySlice<UInt8>) {
        self.endpoints = endpoints
        self.sequence = sequence
        self.flags = flags
        self.payload = payload
    }

    package var isSYN: Bool { flags & 0x02 != 0 }
    package var isFIN: Bool { flags & 0x01 != 0 }
    package var isRST: Bool { flags & 0x04 != 0 }
}

package enum DecodedPacket: Sendable {
    case udp(UDPDatagram)
    case tcp(TCPSegment)
    /// A layer we do not (yet) go beyond; not an anomaly.
    case other
}

/// Decodes link layer → IPv4/IPv6 → UDP with bounds checks at every step.
/// Malformed input yields `.other` plus a named anomaly; it never traps.
package struct PacketDecoder: Sendable {
    /// Most VLAN tags peeled before giving up (QinQ uses two; more is hostile).
    package static let maxVLANTags = 4
    /// Most IPv6 extension headers followed; real traffic has one or two.
    package static let maxIPv6ExtensionHeaders = 8

    private var decoderAnomalies = AnomalyCounts()
    private var fragments = FragmentReassembler()
    /// Capture time of the packet being decoded (fragment timeouts).
    private var now: Int64 = 0

    /// Anomalies of decoding and of fragment reassembly.
    package var anomalies: AnomalyCounts {
        var all = decoderAnomalies
        all.merge(fragments.anomalies)
        return all
    }

    package init() {}

    /// End of input: incomplete fragmented datagrams are counted.
    package mutating func finish() {
        fragments.finish()
    }

    /// Decodes one packet captured at `time` (nanoseconds; used to expire
    /// incomplete fragmented datagrams).
    package mutating func decode(_ data: ArraySlice<UInt8>, linkType: UInt32, time: Int64 = 0) -> DecodedPacket {
        now = time
        switch PacketDecoder.peelLink(data, linkType: linkType) {
        case .network(let etherType, let rest):
            return decodeNetwork(etherType: etherType, rest)
        case .other(let anomaly):
            if let anomaly { decoderAnomalies.record(anomaly) }
            return .other
        }
    }

    /// What lies under the link layer: a network-layer payload and its
    /// EtherType, or nothing to decode (with the anomaly, if it is one).
    package enum Link {
        case network(etherType: UInt16, ArraySlice<UInt8>)
        case other(Anomaly?)
    }

    /// Peels the link layer: Ethernet (802.1Q/QinQ tags), raw IP, BSD
    /// null/loopback, Linux cooked (SLL, SLL2).
    package static func peelLink(_ data: ArraySlice<UInt8>, linkType: UInt32) -> Link {
        var reader = ByteReader(data)
        switch linkType {
        case LinkType.ethernet:
            guard reader.skip(12), var etherType = reader.readUInt16() else { return .other(Anomaly("ethernet.truncated_header")) }
            var tags = 0
            while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
                tags += 1
                guard tags <= PacketDecoder.maxVLANTags, reader.skip(2), let inner = reader.readUInt16() else {
                    return .other(Anomaly("vlan.truncated_or_too_many_tags"))
                }
                etherType = inner
            }
            return .network(etherType: etherType, reader.rest)
        case let raw where [LinkType.raw, LinkType.ipv4, LinkType.ipv6].contains(raw) || LinkType.rawAlternatives.contains(raw):
            guard let first = reader.peekUInt8() else { return .other(nil) }
            return .network(etherType: first >> 4 == 6 ? 0x86DD : 0x0800, reader.rest)
        case LinkType.null, LinkType.loop:
            guard let little = reader.readUInt32(linkType == LinkType.loop ? .big : .little) else {
                return .other(Anomaly("loopback.truncated_header"))
            }
            // The family was written in the capturing host's order: accept either.
            let family = little > 0xFFFF ? little.byteSwapped : little
            switch family {
            case 2: return .network(etherType: 0x0800, reader.rest)
            case 10, 23, 24, 28, 30: return .network(etherType: 0x86DD, reader.rest)  // AF_INET6 on Linux, Windows, BSDs, macOS
            default: return .other(nil)
            }
        case LinkType.linuxSLL:
            guard reader.skip(14), let protocolType = reader.readUInt16() else { return .other(Anomaly("sll.truncated_header")) }
            return .network(etherType: protocolType, reader.rest)
        case LinkType.linuxSLL2:
            guard let protocolType = reader.readUInt16(), reader.skip(18) else { return .other(Anomaly("sll2.truncated_header")) }
            return .network(etherType: protocolType, reader.rest)
        default:
            return .other(Anomaly("link.unsupported_type"))
        }
    }

    /// A hash of a packet's two IP addresses, the same in both directions
    /// (0 for anything that is not IP): every packet of a flow, its
    /// fragments included, gets the same value, so flows can be spread over
    /// threads that each keep their own flow state.
    package static func addressPairHash(_ data: ArraySlice<UInt8>, linkType: UInt32) -> UInt64 {
        guard case .network(let etherType, let ip) = peelLink(data, linkType: linkType) else { return 0 }
        func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 {
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            return h
        }
        let s = ip.startIndex
        switch etherType {
        case 0x0800 where ip.count >= 20: return hash(ip[(s + 12)..<(s + 16)]) &+ hash(ip[(s + 16)..<(s + 20)])
        case 0x86DD where ip.count >= 40: return hash(ip[(s + 8)..<(s + 24)]) &+ hash(ip[(s + 24)..<(s + 40)])
        default: return 0
        }
    }

    mutating func decodeNetwork(etherType: UInt16, _ data: ArraySlice<UInt8>) -> DecodedPacket {
        switch etherType {
        case 0x0800: return decodeIPv4(data)
        case 0x86DD: return decodeIPv6(data)
        default: return .other
        }
    }

    mutating func decodeIPv6(_ data: ArraySlice<UInt8>) -> DecodedPacket {
        var reader = ByteReader(data)
        guard let first = reader.readUInt32(), first >> 28 == 6 else {
            decoderAnomalies.record(Anomaly(data.isEmpty ? "ipv6.truncated_header" : "ipv6.bad_version"))
            return .other
        }
        guard let payloadLength = reader.readUInt16(), var next = reader.readUInt8(), reader.skip(1),
            let source = reader.readBytes(16), let destination = reader.readBytes(16)
        else {
            decoderAnomalies.record(Anomaly("ipv6.truncated_header"))
            return .other
        }
        var end = reader.position + Int(payloadLength)
        if payloadLength == 0 {
            end = data.endIndex  // jumbogram or unknown: take what is there
        } else if end > data.endIndex {
            decoderAnomalies.record(Anomaly("ipv6.truncated_payload"))
            end = data.endIndex
        }
        var payload = ByteReader(data[reader.position..<end])
        var headers = 0
        while true {
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                guard let following = payload.readUInt8(), let length = payload.readUInt8(), payload.skip(6 + Int(length) * 8) else {
                    decoderAnomalies.record(Anomaly("ipv6.truncated_extension_header"))
                    return .other
                }
                next = following
            case 51:  // authentication header: length in 32-bit words, minus 2
                guard let following = payload.readUInt8(), let length = payload.readUInt8(), payload.skip(6 + Int(length) * 4) else {
                    decoderAnomalies.record(Anomaly("ipv6.truncated_extension_header"))
                    return .other
                }
                next = following
            case 44:  // fragment
                guard let following = payload.readUInt8(), payload.skip(1), let offsetFlags = payload.readUInt16(),
                    let identification = payload.readUInt32()
                else {
                    decoderAnomalies.record(Anomaly("ipv6.truncated_extension_header"))
                    return .other
                }
                if offsetFlags & 0xFFF9 != 0 {
                    let key = FragmentReassembler.Key(
                        version: 6, source: Array(source), destination: Array(destination), identification: identification, proto: following)
                    guard let whole = fragments.add(
                        key, offset: Int(offsetFlags & 0xFFF8), moreFragments: offsetFlags & 1 != 0, payload: payload.rest, time: now)
                    else { return .other }
                    // Continue with the headers and transport of the reassembled payload.
                    payload = ByteReader(whole)
                }
                next = following  // (an atomic fragment, offset 0 and no more, is its own datagram)
            case 17, 6:
                return decodeTransport(next, payload.rest, source: source, destination: destination)
            default:
                return .other
            }
            headers += 1
            if headers > PacketDecoder.maxIPv6ExtensionHeaders {
                decoderAnomalies.record(Anomaly("ipv6.too_many_extension_headers"))
                return .other
            }
        }
    }

    mutating func decodeIPv4(_ data: ArraySlice<UInt8>) -> DecodedPacket {
        var reader = ByteReader(data)
        guard let versionIHL = reader.readUInt8() else {
            decoderAnomalies.record(Anomaly("ipv4.truncated_header"))
            return .other
        }
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard versionIHL >> 4 == 4 else {
            decoderAnomalies.record(Anomaly("ipv4.bad_version"))
            return .other
        }
        guard headerLength >= 20 else {
            decoderAnomalies.record(Anomaly("ipv4.bad_header_length"))
            return .other
        }
        guard data.count >= headerLength,
            reader.skip(1), let totalLength = reader.readUInt16(), reader.skip(2),
            let fragment = reader.readUInt16(), reader.skip(1), let proto = reader.readUInt8(), reader.skip(2),
            let source = reader.readBytes(4), let destination = reader.readBytes(4)
        else {
            decoderAnomalies.record(Anomaly("ipv4.truncated_header"))
            return .other
        }
        guard Int(totalLength) >= headerLength else {
            decoderAnomalies.record(Anomaly("ipv4.bad_total_length"))
            return .other
        }
        // Trailing Ethernet padding is cut at the IP total length; a capture
        // shorter than the total length (snaplen) keeps what is there.
        var payloadEnd = data.startIndex + Int(totalLength)
        if payloadEnd > data.endIndex {
            decoderAnomalies.record(Anomaly("ipv4.truncated_payload"))
            payloadEnd = data.endIndex
        }
        let payload = data[(data.startIndex + headerLength)..<payloadEnd]
        let moreFragments = fragment & 0x2000 != 0
        let fragmentOffset = Int(fragment & 0x1FFF) * 8
        if moreFragments || fragmentOffset != 0 {
            let identification = UInt32(UInt16.read(from: data, at: 4, .big) ?? 0)
            let key = FragmentReassembler.Key(version: 4, source: Array(source), destination: Array(destination), identification: identification, proto: proto)
            guard let whole = fragments.add(key, offset: fragmentOffset, moreFragments: moreFragments, payload: payload, time: now) else {
                return .other
            }
            return decodeTransport(proto, whole[...], source: source, destination: destination)
        }
        return decodeTransport(proto, payload, source: source, destination: destination)
    }

    mutating func decodeTransport(_ proto: UInt8, _ data: ArraySlice<UInt8>, source: ArraySlice<UInt8>, destination: ArraySlice<UInt8>) -> DecodedPacket {
        switch proto {
        case 17: return decodeUDP(data, source: source, destination: destination)
        case 6: return decodeTCP(data, source: source, destination: destination)
        default: return .other
        }
    }

    mutating func decodeTCP(_ data: ArraySlice<UInt8>, source: ArraySlice<UInt8>, destination: ArraySlice<UInt8>) -> DecodedPacket {
        var reader = ByteReader(data)
        guard let sport = reader.readUInt16(), let dport = reader.readUInt16(), let sequence = reader.readUInt32(), reader.skip(4),
            let offsetByte = reader.readUInt8(), let flags = reader.readUInt8()
        else {
            decoderAnomalies.record(Anomaly("tcp.truncated_header"))
            return .other
        }
        let headerLength = Int(offsetByte >> 4) * 4
        guard headerLength >= 20 else {
            decoderAnomalies.record(Anomaly("tcp.bad_header_length"))
            return .other
        }
        guard data.count >= headerLength else {
            decoderAnomalies.record(Anomaly("tcp.truncated_header"))
            return .other
        }
        return .tcp(TCPSegment(
            endpoints: FlowEndpoints(sourceAddress: source, destinationAddress: destination, sourcePort: sport, destinationPort: dport),
            sequence: sequence, flags: flags, payload: data[(data.startIndex + headerLength)...]))
    }

    mutating func decodeUDP(_ data: ArraySlice<UInt8>, source: ArraySlice<UInt8>, destination: ArraySlice<UInt8>) -> DecodedPacket {
        var reader = ByteReader(data)
        guard let sport = reader.readUInt16(), let dport = reader.readUInt16(), let length = reader.readUInt16(),
            reader.skip(2)
        else {
            decoderAnomalies.record(Anomaly("udp.truncated_header"))
            return .other
        }
        guard length >= 8 else {
            decoderAnomalies.record(Anomaly("udp.bad_length"))
            return .other
        }
        var end = data.startIndex + Int(length)
        if end > data.endIndex {
            decoderAnomalies.record(Anomaly("udp.truncated_payload"))
            end = data.endIndex
        }
        let payload = data[(data.startIndex + 8)..<end]
        return .udp(UDPDatagram(
            endpoints: FlowEndpoints(sourceAddress: source, destinationAddress: destination, sourcePort: sport, destinationPort: dport),
            payload: payload))
    }
}
