import WireParsing

/// Link-layer types this decoder understands (pcap-linktype(7) numbers).
package enum LinkType {
    package static let ethernet: UInt32 = 1
    package static let raw: UInt32 = 101
}

/// A transport endpoint pair as seen in one packet.
package struct FlowEndpoints: Hashable, Sendable {
    /// 4 (IPv4) or 16 (IPv6) network-order bytes.
    package var sourceAddress: [UInt8]
    package var destinationAddress: [UInt8]
    package var sourcePort: UInt16
    package var destinationPort: UInt16
}

/// A UDP datagram extracted from a packet.
package struct UDPDatagram: Sendable {
    package var endpoints: FlowEndpoints
    package var payload: ArraySlice<UInt8>
}

/// What a packet decoded to, as far as this slice goes.
package enum DecodedPacket: Sendable {
    case udp(UDPDatagram)
    /// A layer we do not (yet) go beyond; not an anomaly.
    case other
}

/// Decodes link layer → IPv4 → UDP with bounds checks at every step.
/// Malformed input yields `.other` plus a named anomaly; it never traps.
package struct PacketDecoder: Sendable {
    /// Most VLAN tags peeled before giving up (QinQ uses two; more is hostile).
    package static let maxVLANTags = 4

    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    package mutating func decode(_ data: ArraySlice<UInt8>, linkType: UInt32) -> DecodedPacket {
        var reader = ByteReader(data)
        switch linkType {
        case LinkType.ethernet:
            guard reader.skip(12), var etherType = reader.readUInt16() else {
                anomalies.record(Anomaly("ethernet.truncated_header"))
                return .other
            }
            var tags = 0
            while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
                tags += 1
                guard tags <= PacketDecoder.maxVLANTags, reader.skip(2), let inner = reader.readUInt16() else {
                    anomalies.record(Anomaly("vlan.truncated_or_too_many_tags"))
                    return .other
                }
                etherType = inner
            }
            guard etherType == 0x0800 else { return .other }
            return decodeIPv4(reader.rest)
        case LinkType.raw:
            guard let first = reader.peekUInt8(), first >> 4 == 4 else { return .other }
            return decodeIPv4(reader.rest)
        default:
            anomalies.record(Anomaly("link.unsupported_type"))
            return .other
        }
    }

    mutating func decodeIPv4(_ data: ArraySlice<UInt8>) -> DecodedPacket {
        var reader = ByteReader(data)
        guard let versionIHL = reader.readUInt8() else {
            anomalies.record(Anomaly("ipv4.truncated_header"))
            return .other
        }
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard versionIHL >> 4 == 4 else {
            anomalies.record(Anomaly("ipv4.bad_version"))
            return .other
        }
        guard headerLength >= 20 else {
            anomalies.record(Anomaly("ipv4.bad_header_length"))
            return .other
        }
        guard data.count >= headerLength,
            reader.skip(1), let totalLength = reader.readUInt16(), reader.skip(2),
            let fragment = reader.readUInt16(), reader.skip(1), let proto = reader.readUInt8(), reader.skip(2),
            let source = reader.readBytes(4), let destination = reader.readBytes(4)
        else {
            anomalies.record(Anomaly("ipv4.truncated_header"))
            return .other
        }
        guard Int(totalLength) >= headerLength else {
            anomalies.record(Anomaly("ipv4.bad_total_length"))
            return .other
        }
        // Trailing Ethernet padding is cut at the IP total length; a capture
        // shorter than the total length (snaplen) keeps what is there.
        var payloadEnd = data.startIndex + Int(totalLength)
        if payloadEnd > data.endIndex {
            anomalies.record(Anomaly("ipv4.truncated_payload"))
            payloadEnd = data.endIndex
        }
        let payload = data[(data.startIndex + headerLength)..<payloadEnd]
        let moreFragments = fragment & 0x2000 != 0
        let fragmentOffset = fragment & 0x1FFF
        if moreFragments || fragmentOffset != 0 {
            // Fragment reassembly arrives with the packet-decoding issue.
            anomalies.record(Anomaly("ipv4.fragment_not_reassembled"))
            return .other
        }
        guard proto == 17 else { return .other }
        return decodeUDP(payload, source: Array(source), destination: Array(destination))
    }

    mutating func decodeUDP(_ data: ArraySlice<UInt8>, source: [UInt8], destination: [UInt8]) -> DecodedPacket {
        var reader = ByteReader(data)
        guard let sport = reader.readUInt16(), let dport = reader.readUInt16(), let length = reader.readUInt16(),
            reader.skip(2)
        else {
            anomalies.record(Anomaly("udp.truncated_header"))
            return .other
        }
        guard length >= 8 else {
            anomalies.record(Anomaly("udp.bad_length"))
            return .other
        }
        var end = data.startIndex + Int(length)
        if end > data.endIndex {
            anomalies.record(Anomaly("udp.truncated_payload"))
            end = data.endIndex
        }
        let payload = data[(data.startIndex + 8)..<end]
        return .udp(UDPDatagram(
            endpoints: FlowEndpoints(sourceAddress: source, destinationAddress: destination, sourcePort: sport, destinationPort: dport),
            payload: payload))
    }
}
