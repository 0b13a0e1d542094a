import WireParsing

/// Classic pcap or pcapng, decided by the file's first four bytes; records
/// come out the same way from either. Any chunking gives the same records.
package struct CaptureReader: Sendable {
    private enum Format: Sendable {
        case undecided([UInt8])
        case pcap(PcapReader)
        case pcapng(PcapngReader)
    }

    private var format: Format = .undecided([])

    package init() {}

    /// Whether the first bytes look like a capture file this reader reads.
    package static func looksLikeCapture(_ first: ArraySlice<UInt8>) -> Bool {
        PcapFileHeader.looksLikePcap(first) || UInt32.read(from: first, at: 0, .little) == PcapngReader.sectionHeaderType
    }

    package var recordCount: Int {
        switch format {
        case .undecided: return 0
        case .pcap(let r): return r.recordCount
        case .pcapng(let r): return r.recordCount
        }
    }

    package var consumed: Int64 {
        switch format {
        case .undecided(let pending): return Int64(pending.count)
        case .pcap(let r): return r.consumed
        case .pcapng(let r): return r.consumed
        }
    }

    package var anomalies: AnomalyCounts {
        switch format {
        case .undecided: return AnomalyCounts()
        case .pcap(let r): return r.anomalies
        case .pcapng(let r): return r.anomalies
        }
    }

    package mutating func feed(_ chunk: ArraySlice<UInt8>, _ body: (PcapRecord) throws -> Void) throws {
        switch format {
        case .undecided(var pending):
            pending.append(contentsOf: chunk)
            guard pending.count >= 4 else {
                format = .undecided(pending)
                return
            }
            if UInt32.read(from: pending[...], at: 0, .little) == PcapngReader.sectionHeaderType {
                var reader = PcapngReader()
                format = .pcapng(reader)
                try reader.feed(pending[...], body)
                format = .pcapng(reader)
            } else {
                var reader = PcapReader()
                format = .pcap(reader)
                try reader.feed(pending[...], body)
                format = .pcap(reader)
            }
        case .pcap(var reader):
            format = .undecided([])  // keep the reader uniquely referenced while it mutates
            defer { format = .pcap(reader) }
            try reader.feed(chunk, body)
        case .pcapng(var reader):
            format = .undecided([])
            defer { format = .pcapng(reader) }
            try reader.feed(chunk, body)
        }
    }

    package mutating func finish() throws {
        switch format {
        case .undecided(let pending):
            throw PcapError.truncatedFileHeader(length: pending.count)
        case .pcap(var reader):
            try reader.finish()
            format = .pcap(reader)
        case .pcapng(var reader):
            try reader.finish()
            format = .pcapng(reader)
        }
    }
}
