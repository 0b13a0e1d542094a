import WireParsing

/// A streaming reader of classic pcap files (libpcap format, both byte
/// orders, micro- and nanosecond timestamps).
///
/// Push-based: ``feed(_:_:)`` takes any chunk of the file and calls back once
/// per complete record, so a file can be read in fixed-size chunks and the
/// same records come out however it is chunked (drip-feed tested). Bytes of a
/// record split across chunks are held until the record is complete; at most
/// one record (``maxRecordLength``) is ever buffered.
package struct PcapReader: Sendable {
    /// Largest record body accepted. libpcap's own MAXIMUM_SNAPLEN is 262144;
    /// anything larger is a corrupt length field, not a packet.
    package static let maxRecordLength = 262_144
    package static let fileHeaderLength = 24
    package static let recordHeaderLength = 16

    package enum State: Sendable, Equatable {
        /// The 24-byte file header has not been read yet.
        case awaitingHeader
        case records
        /// A corrupt record header: nothing after it can be framed reliably.
        case corrupt
    }

    package private(set) var state: State = .awaitingHeader
    package private(set) var header: PcapFileHeader?
    package private(set) var anomalies = AnomalyCounts()
    /// Records delivered so far.
    package private(set) var recordCount = 0
    /// Bytes consumed so far (file offset of the next unread byte).
    package private(set) var consumed: Int64 = 0

    private var pending: [UInt8] = []

    package init() {}

    /// Feeds the next chunk of the file. Calls `body` for every record
    /// completed by it, in file order. Throws ``PcapError`` only for a file
    /// that is not pcap at all; damage after a valid header becomes anomalies.
    package mutating func feed(
        _ chunk: ArraySlice<UInt8>, _ body: (PcapRecord) throws -> Void
    ) throws {
        if state == .corrupt { return }
        if pending.isEmpty {
            try consume(chunk, body)
        } else {
            pending.append(contentsOf: chunk)
            let buffered = pending
            pending = []
            try consume(buffered[...], body)
        }
    }

    /// Call at end of input: reports a partial trailing record as an anomaly
    /// and a missing header as an error.
    package mutating func finish() throws {
        if state == .awaitingHeader {
            throw PcapError.truncatedFileHeader(length: pending.count)
        }
        if state == .records, !pending.isEmpty {
            anomalies.record(Anomaly(pending.count < PcapReader.recordHeaderLength
                ? "pcap.truncated_record_header" : "pcap.truncated_record"))
            pending = []
        }
    }

    private mutating func consume(_ input: ArraySlice<UInt8>, _ body: (PcapRecord) throws -> Void) throws {
        var data = input
        if state == .awaitingHeader {
            guard data.count >= PcapReader.fileHeaderLength else {
                // The magic can be rejected early; the rest waits for more bytes.
                if data.count >= 4, PcapFileHeader.magicOrder(data) == nil {
                    throw PcapError.notPcap(magic: Array(data.prefix(4)))
                }
                pending.append(contentsOf: data)
                return
            }
            let parsed = try PcapFileHeader(data.prefix(PcapReader.fileHeaderLength))
            header = parsed
            state = .records
            data = data.dropFirst(PcapReader.fileHeaderLength)
            consumed += Int64(PcapReader.fileHeaderLength)
        }
        guard let header else { return }
        while data.count >= PcapReader.recordHeaderLength {
            let order = header.byteOrder
            // Lengths of 16 bytes are checked above; the reads cannot fail.
            let seconds = UInt32.read(from: data, at: 0, order)!
            let fraction = UInt32.read(from: data, at: 4, order)!
            let capturedLength = Int(UInt32.read(from: data, at: 8, order)!)
            let originalLength = Int(UInt32.read(from: data, at: 12, order)!)
            guard capturedLength <= PcapReader.maxRecordLength else {
                anomalies.record(Anomaly("pcap.bad_record_length"))
                state = .corrupt
                pending = []
                return
            }
            guard data.count >= PcapReader.recordHeaderLength + capturedLength else { break }
            let bodyStart = data.startIndex + PcapReader.recordHeaderLength
            let nanos = header.nanosecondResolution ? Int64(fraction) : Int64(fraction) * 1000
            if fraction >= (header.nanosecondResolution ? 1_000_000_000 : 1_000_000) {
                anomalies.record(Anomaly("pcap.bad_timestamp_fraction"))
            }
            let record = PcapRecord(
                timestampNanoseconds: Int64(seconds) * 1_000_000_000 + nanos,
                originalLength: originalLength,
                data: data[bodyStart..<(bodyStart + capturedLength)],
                fileOffset: consumed,
                linkType: header.linkType)
            if capturedLength > header.snapLength, header.snapLength > 0 {
                anomalies.record(Anomaly("pcap.caplen_over_snaplen"))
            }
            recordCount += 1
            let size = PcapReader.recordHeaderLength + capturedLength
            consumed += Int64(size)
            data = data.dropFirst(size)
            try body(record)
        }
        pending.append(contentsOf: data)
    }
}

/// The 24-byte global header of a classic pcap file.
package struct PcapFileHeader: Sendable, Equatable {
    package var byteOrder: ByteOrder
    package var nanosecondResolution: Bool
    package var versionMajor: UInt16
    package var versionMinor: UInt16
    package var snapLength: Int
    package var linkType: UInt32

    static let magicMicro: UInt32 = 0xA1B2_C3D4
    static let magicNano: UInt32 = 0xA1B2_3C4D

    static func magicOrder(_ data: ArraySlice<UInt8>) -> (ByteOrder, Bool)? {
        guard let big = UInt32.read(from: data, at: 0, .big) else { return nil }
        switch big {
        case magicMicro: return (.big, false)
        case magicNano: return (.big, true)
        case magicMicro.byteSwapped: return (.little, false)
        case magicNano.byteSwapped: return (.little, true)
        default: return nil
        }
    }

    /// Whether the first bytes carry a classic pcap magic number.
    package static func looksLikePcap(_ data: ArraySlice<UInt8>) -> Bool { magicOrder(data) != nil }

    package init(_ data: ArraySlice<UInt8>) throws {
        guard data.count >= PcapReader.fileHeaderLength else {
            throw PcapError.truncatedFileHeader(length: data.count)
        }
        guard let (order, nano) = PcapFileHeader.magicOrder(data) else {
            throw PcapError.notPcap(magic: Array(data.prefix(4)))
        }
        byteOrder = order
        nanosecondResolution = nano
        versionMajor = UInt16.read(from: data, at: 4, order)!
        versionMinor = UInt16.read(from: data, at: 6, order)!
        snapLength = Int(UInt32.read(from: data, at: 16, order)!)
        // The upper 16 bits may carry FCS information (pcap-linktype(7)).
        linkType = UInt32.read(from: data, at: 20, order)! & 0x03FF_FFFF
        guard versionMajor == 2 else { throw PcapError.unsupportedVersion(versionMajor, versionMinor) }
    }
}

/// One captured packet, valid for the duration of the callback that
/// receives it (its bytes share storage with the reader's input).
package struct PcapRecord: Sendable {
    package var timestampNanoseconds: Int64
    package var originalLength: Int
    package var data: ArraySlice<UInt8>
    /// Offset of the record header in the file.
    package var fileOffset: Int64
    package var linkType: UInt32
}

/// A capture file that cannot be read at all.
package enum PcapError: Error, Equatable, CustomStringConvertible {
    case notPcap(magic: [UInt8])
    case truncatedFileHeader(length: Int)
    case unsupportedVersion(UInt16, UInt16)

    package var description: String {
        switch self {
        case .notPcap(let magic):
            let hex = magic.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
            return "not a pcap file (magic 0x\(hex))"
        case .truncatedFileHeader(let length):
            return length == 0 ? "empty file (no pcap header)" : "truncated pcap file header (\(length) of 24 bytes)"
        case .unsupportedVersion(let major, let minor):
            return "unsupported pcap version \(major).\(minor)"
        }
    }
}
