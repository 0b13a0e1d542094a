import WireParsing

/// A streaming reader of pcapng files (the IETF draft "PCAP Next
/// Generation"): Section Header, Interface Description, Enhanced Packet,
/// Simple Packet and the obsolete Packet block; every other block type is
/// skipped by its length. Several sections (each with its own byte order)
/// and several interfaces with different link types and timestamp
/// resolutions are handled.
///
/// Push-based like ``PcapReader``: any chunking of the file yields the same
/// records. At most one block (``maxBlockLength``) is buffered.
package struct PcapngReader: Sendable {
    /// Largest block accepted: a packet of libpcap's maximum snap length plus
    /// headers and options. Anything larger is a corrupt length field.
    package static let maxBlockLength = 262_144 + 4096
    package static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    package struct Interface: Sendable, Equatable {
        package var linkType: UInt32
        package var snapLength: Int
        /// Timestamp units per second (10^6 unless `if_tsresol` says otherwise).
        package var unitsPerSecond: UInt64
    }

    package private(set) var anomalies = AnomalyCounts()
    package private(set) var recordCount = 0
    package private(set) var consumed: Int64 = 0
    package private(set) var interfaces: [Interface] = []
    private var order: ByteOrder = .little
    private var sawSection = false
    private var corrupt = false
    private var pending: [UInt8] = []

    package init() {}

    package mutating func feed(_ chunk: ArraySlice<UInt8>, _ body: (PcapRecord) throws -> Void) throws {
        if corrupt { return }
        if pending.isEmpty {
            try consume(chunk, body)
        } else {
            pending.append(contentsOf: chunk)
            let buffered = pending
            pending = []
            try consume(buffered[...], body)
        }
    }

    package mutating func finish() throws {
        if !sawSection { throw PcapError.truncatedFileHeader(length: pending.count) }
        if !pending.isEmpty, !corrupt {
            anomalies.record(Anomaly("pcapng.truncated_block"))
            pending = []
        }
    }

    private mutating func consume(_ input: ArraySlice<UInt8>, _ body: (PcapRecord) throws -> Void) throws {
        var data = input
        while data.count >= 12 {
            guard let rawType = UInt32.read(from: data, at: 0, .little) else { break }
            if rawType == PcapngReader.sectionHeaderType {
                // The byte-order magic decides how this section (and its length) is read.
                guard let magic = UInt32.read(from: data, at: 8, .little) else { break }
                if magic == PcapngReader.byteOrderMagic {
                    order = .little
                } else if magic == PcapngReader.byteOrderMagic.byteSwapped {
                    order = .big
                } else {
                    if !sawSection { throw PcapError.notPcap(magic: Array(data.prefix(4))) }
                    anomalies.record(Anomaly("pcapng.bad_byte_order_magic"))
                    corrupt = true
                    return
                }
            } else if !sawSection {
                throw PcapError.notPcap(magic: Array(data.prefix(4)))
            }
            let type = UInt32.read(from: data, at: 0, order)!
            let length = Int(UInt32.read(from: data, at: 4, order)!)
            guard length >= 12, length % 4 == 0, length <= PcapngReader.maxBlockLength else {
                anomalies.record(Anomaly("pcapng.bad_block_length"))
                corrupt = true
                pending = []
                return
            }
            guard data.count >= length else { break }
            let block = data.prefix(length)
            if UInt32.read(from: block, at: length - 4, order) != UInt32(length) {
                anomalies.record(Anomaly("pcapng.block_length_mismatch"))
            }
            let blockOffset = consumed
            consumed += Int64(length)
            data = data.dropFirst(length)
            try handle(type: type, body: block.dropFirst(8).dropLast(4), offset: blockOffset, body)
        }
        pending.append(contentsOf: data)
        if pending.count > PcapngReader.maxBlockLength {
            anomalies.record(Anomaly("pcapng.bad_block_length"))
            corrupt = true
            pending = []
        }
    }

    private mutating func handle(
        type: UInt32, body b: ArraySlice<UInt8>, offset: Int64, _ deliver: (PcapRecord) throws -> Void
    ) throws {
        switch type {
        case PcapngReader.sectionHeaderType:
            sawSection = true
            interfaces = []  // interface ids are per section
        case 1:  // Interface Description Block
            guard let linkType = UInt16.read(from: b, at: 0, order), let snap = UInt32.read(from: b, at: 4, order) else {
                anomalies.record(Anomaly("pcapng.truncated_interface_block"))
                return
            }
            var interface = Interface(linkType: UInt32(linkType), snapLength: Int(snap), unitsPerSecond: 1_000_000)
            for (code, value) in options(b.dropFirst(8)) where code == 9 {  // if_tsresol
                guard let r = value.first else { continue }
                let exponent = Int(r & 0x7F)
                if r & 0x80 == 0, exponent <= 18 {
                    var units: UInt64 = 1
                    for _ in 0..<exponent { units *= 10 }
                    interface.unitsPerSecond = units
                } else if r & 0x80 != 0, exponent <= 62 {
                    interface.unitsPerSecond = UInt64(1) << UInt64(exponent)
                } else {
                    anomalies.record(Anomaly("pcapng.bad_timestamp_resolution"))
                }
            }
            interfaces.append(interface)
        case 6, 2:  // Enhanced Packet Block, obsolete Packet Block
            let isEnhanced = type == 6
            let interfaceID: Int
            if isEnhanced {
                interfaceID = Int(UInt32.read(from: b, at: 0, order) ?? UInt32.max)
            } else {
                interfaceID = Int(UInt16.read(from: b, at: 0, order) ?? UInt16.max)
            }
            guard let high = UInt32.read(from: b, at: 4, order), let low = UInt32.read(from: b, at: 8, order),
                let captured = UInt32.read(from: b, at: 12, order), let original = UInt32.read(from: b, at: 16, order)
            else {
                anomalies.record(Anomaly("pcapng.truncated_packet_block"))
                return
            }
            guard interfaceID < interfaces.count else {
                anomalies.record(Anomaly("pcapng.unknown_interface"))
                return
            }
            guard Int(captured) <= b.count - 20 else {
                anomalies.record(Anomaly("pcapng.bad_captured_length"))
                return
            }
            let interface = interfaces[interfaceID]
            let start = b.startIndex + 20
            let stamp = UInt64(high) << 32 | UInt64(low)
            try deliver(PcapRecord(
                timestampNanoseconds: PcapngReader.nanoseconds(stamp, unitsPerSecond: interface.unitsPerSecond),
                originalLength: Int(original), data: b[start..<(start + Int(captured))], fileOffset: offset,
                linkType: interface.linkType))
            recordCount += 1
        case 3:  // Simple Packet Block: interface 0, no timestamp
            guard let original = UInt32.read(from: b, at: 0, order), let interface = interfaces.first else {
                anomalies.record(Anomaly("pcapng.simple_packet_without_interface"))
                return
            }
            var captured = min(Int(original), b.count - 4)
            if interface.snapLength > 0 { captured = min(captured, interface.snapLength) }
            let start = b.startIndex + 4
            try deliver(PcapRecord(
                timestampNanoseconds: 0, originalLength: Int(original), data: b[start..<(start + captured)], fileOffset: offset,
                linkType: interface.linkType))
            recordCount += 1
        default:
            break  // name resolution, statistics, custom and unknown blocks carry no packets
        }
    }

    /// Options as (code, value) pairs, each value padded to 32 bits; stops at opt_endofopt or damage.
    private func options(_ b: ArraySlice<UInt8>) -> [(UInt16, ArraySlice<UInt8>)] {
        var out: [(UInt16, ArraySlice<UInt8>)] = []
        var reader = ByteReader(b)
        while let code = reader.readUInt16(order), let length = reader.readUInt16(order), code != 0 {
            guard let value = reader.readBytes(Int(length)) else { break }
            out.append((code, value))
            reader.skip((4 - Int(length) % 4) % 4)
        }
        return out
    }

    static func nanoseconds(_ units: UInt64, unitsPerSecond: UInt64) -> Int64 {
        let seconds = units / unitsPerSecond
        let fraction = units % unitsPerSecond
        // fraction < unitsPerSecond, so fraction * 10^9 / unitsPerSecond < 10^9; the
        // product needs 128 bits, and the quotient fits (dividingFullWidth cannot trap).
        let product = fraction.multipliedFullWidth(by: 1_000_000_000)
        let nanos = unitsPerSecond.dividingFullWidth(product).quotient
        return Int64(truncatingIfNeeded: seconds &* 1_000_000_000 &+ nanos)
    }
}

/// Exposes the timestamp conversion to tests.
package enum PcapngReaderTestHook {
    package static func nanoseconds(_ units: UInt64, unitsPerSecond: UInt64) -> Int64 {
        PcapngReader.nanoseconds(units, unitsPerSecond: unitsPerSecond)
    }
}
