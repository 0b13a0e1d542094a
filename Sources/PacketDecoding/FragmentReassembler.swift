import WireParsing

/// Reassembles IPv4 and IPv6 fragments into datagrams, with limits.
///
/// Overlap policy: the first bytes received for an offset win (as in Linux
/// and Zeek's default); a later fragment that disagrees on overlapping bytes
/// is a `ip.fragment_overlap_mismatch`. A datagram is handed over once its
/// last fragment (no "more fragments") has arrived and every byte before it
/// is covered. Incomplete datagrams expire after ``timeoutSeconds`` of
/// capture time and the oldest are evicted beyond ``maxPendingDatagrams``;
/// both are counted, never silent.
package struct FragmentReassembler: Sendable {
    /// RFC 791/8200: an IP datagram is at most 65,535 bytes (jumbograms are not fragmented).
    package static let maxDatagramLength = 65_535
    /// Datagrams in reassembly at once; a fragment flood cannot grow memory past
    /// about this many × 64 KiB, and real traffic has a handful.
    package static let maxPendingDatagrams = 1024
    /// Linux's ipfrag_time default: an incomplete datagram this old is dropped.
    package static let timeoutSeconds: Int64 = 30

    package struct Key: Hashable, Sendable {
        var version: UInt8
        var source: [UInt8]
        var destination: [UInt8]
        var identification: UInt32
        var proto: UInt8
    }

    private struct Pending: Sendable {
        var firstSeen: Int64
        var bytes: [UInt8] = []
        /// Which bytes of `bytes` are filled.
        var filled: [Bool] = []
        /// Length of the whole datagram, once its last fragment arrived.
        var total: Int?
    }

    private var pending: [Key: Pending] = [:]
    private var order: [Key] = []
    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    package var pendingCount: Int { pending.count }

    /// Adds one fragment (payload after the IP header / fragment header);
    /// returns the whole datagram's payload when this fragment completes it.
    package mutating func add(_ key: Key, offset: Int, moreFragments: Bool, payload: ArraySlice<UInt8>, time: Int64) -> [UInt8]? {
        expire(now: time)
        let end = offset + payload.count
        guard end <= FragmentReassembler.maxDatagramLength else {
            anomalies.record(Anomaly("ip.fragment_too_long"))
            return nil
        }
        var entry = pending[key] ?? Pending(firstSeen: time)
        if pending[key] == nil {
            order.append(key)
            if pending.count >= FragmentReassembler.maxPendingDatagrams { evictOldest() }
        }
        if !moreFragments {
            if let total = entry.total, total != end {
                anomalies.record(Anomaly("ip.fragment_inconsistent_length"))
            } else {
                entry.total = end
            }
        } else if payload.count % 8 != 0 {
            anomalies.record(Anomaly("ip.fragment_bad_length"))  // only the last fragment may be odd-sized
        }
        if entry.bytes.count < end {
            entry.bytes += repeatElement(0, count: end - entry.bytes.count)
            entry.filled += repeatElement(false, count: end - entry.filled.count)
        }
        var mismatch = false
        for (i, byte) in zip(offset..<end, payload) {
            if entry.filled[i] {
                if entry.bytes[i] != byte { mismatch = true }
            } else {
                entry.bytes[i] = byte
                entry.filled[i] = true
            }
        }
        if mismatch { anomalies.record(Anomaly("ip.fragment_overlap_mismatch")) }
        if let total = entry.total, entry.filled.count >= total, !entry.filled[0..<total].contains(false) {
            pending[key] = nil
            return Array(entry.bytes[0..<total])
        }
        pending[key] = entry
        return nil
    }

    /// End of input: datagrams still missing fragments are counted.
    package mutating func finish() {
        if !pending.isEmpty { anomalies.record(Anomaly("ip.fragment_incomplete"), count: pending.count) }
        pending = [:]
        order = []
    }

    private mutating func expire(now: Int64) {
        guard !pending.isEmpty else { return }
        let limit = FragmentReassembler.timeoutSeconds * 1_000_000_000
        var kept: [Key] = []
        for key in order {
            guard let entry = pending[key] else { continue }
            if now &- entry.firstSeen > limit {
                pending[key] = nil
                anomalies.record(Anomaly("ip.fragment_timeout"))
            } else {
                kept.append(key)
            }
        }
        order = kept
    }

    private mutating func evictOldest() {
        while let key = order.first, pending.count >= FragmentReassembler.maxPendingDatagrams {
            order.removeFirst()
            if pending.removeValue(forKey: key) != nil { anomalies.record(Anomaly("ip.fragment_evicted")) }
        }
    }
}
