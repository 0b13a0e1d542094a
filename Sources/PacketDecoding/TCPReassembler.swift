import WireParsing

/// Puts each direction of each TCP connection back in order.
///
/// Policy: bytes are delivered once, in sequence order. A retransmission of
/// bytes already delivered is dropped (its content is not compared: the
/// delivered bytes are not kept); overlapping out-of-order segments keep the
/// first copy received and a different copy is `tcp.overlap_mismatch`.
/// Without a SYN the stream is picked up at the first segment seen. A hole
/// that is still open when ``maxBufferedBytes`` of later data wait behind it
/// is skipped and reported to the consumer as a gap (never papered over).
/// FIN and RST end a direction; idle directions are ended after
/// ``idleTimeoutSeconds`` of capture time, and beyond ``maxDirections`` the
/// least recently seen is ended early (counted).
package struct TCPReassembler: Sendable {
    /// Out-of-order bytes held per direction while waiting for a missing
    /// segment: a window's worth on fast links.
    package static let maxBufferedBytes = 1 << 20
    /// Directions tracked at once (two per connection).
    package static let maxDirections = 131_072
    /// A direction silent this long is over (capture time).
    package static let idleTimeoutSeconds: Int64 = 300

    package enum Event: Sendable {
        case data(ArraySlice<UInt8>)
        /// Bytes that were never seen were skipped.
        case gap(Int)
        case end
    }

    private struct Direction: Sendable {
        var next: UInt32
        var buffered: [UInt32: [UInt8]] = [:]
        var bufferedBytes = 0
        var finSequence: UInt32?
        var lastSeen: Int64
        var ended = false
    }

    private var directions: [FlowEndpoints: Direction] = [:]
    private var segmentsSinceSweep = 0
    package private(set) var anomalies = AnomalyCounts()

    package init() {}

    package var directionCount: Int { directions.count }

    /// Adds one segment captured at `time`; `deliver` receives in-order data,
    /// gaps and ends for the segment's direction (and for directions that time out).
    package mutating func add(_ s: TCPSegment, time: Int64, _ deliver: (FlowEndpoints, Event) throws -> Void) rethrows {
        segmentsSinceSweep += 1
        if segmentsSinceSweep >= 4096 {
            segmentsSinceSweep = 0
            try sweep(now: time, deliver)
        }
        let key = s.endpoints
        if s.isRST {
            if let d = directions.removeValue(forKey: key), !d.ended { try deliver(key, .end) }
            let reverse = key.reversed
            if let d = directions.removeValue(forKey: reverse), !d.ended { try deliver(reverse, .end) }
            return
        }
        var d: Direction
        if let known = directions[key], !(s.isSYN && known.ended) {
            d = known
        } else {
            if directions.count >= TCPReassembler.maxDirections { try evictOldest(deliver) }
            d = Direction(next: s.isSYN ? s.sequence &+ 1 : s.sequence, lastSeen: time)
        }
        d.lastSeen = time
        var sequence = s.sequence
        var payload = s.payload
        if s.isSYN {
            sequence = sequence &+ 1  // SYN occupies one sequence number
        }
        if s.isFIN { d.finSequence = sequence &+ UInt32(payload.count) }
        if !payload.isEmpty, !d.ended {
            let offset = Int(Int32(bitPattern: sequence &- d.next))
            if offset <= 0 {
                if -offset < payload.count {
                    payload = payload.dropFirst(-offset)
                    d.next = d.next &+ UInt32(payload.count)
                    try deliver(key, .data(payload))
                }  // else: a retransmission of delivered bytes
            } else {
                buffer(&d, sequence: sequence, payload: payload)
            }
            try drain(&d, key, deliver)
            if d.bufferedBytes > TCPReassembler.maxBufferedBytes {
                // Skip the hole: the data behind it will not wait forever.
                if let lowest = d.buffered.keys.min(by: { Int32(bitPattern: $0 &- d.next) < Int32(bitPattern: $1 &- d.next) }) {
                    let missing = Int(Int32(bitPattern: lowest &- d.next))
                    anomalies.record(Anomaly("tcp.gap"))
                    try deliver(key, .gap(missing))
                    d.next = lowest
                    try drain(&d, key, deliver)
                }
            }
        }
        if let fin = d.finSequence, fin == d.next, !d.ended {
            d.ended = true
            try deliver(key, .end)
        }
        directions[key] = d
    }

    /// End of input: data still waiting behind a hole is delivered after a
    /// gap, then every direction ends.
    package mutating func finish(_ deliver: (FlowEndpoints, Event) throws -> Void) rethrows {
        for (key, var d) in directions where !d.ended {
            while let lowest = d.buffered.keys.min(by: { Int32(bitPattern: $0 &- d.next) < Int32(bitPattern: $1 &- d.next) }) {
                let missing = Int(Int32(bitPattern: lowest &- d.next))
                if missing > 0 {
                    anomalies.record(Anomaly("tcp.gap"))
                    try deliver(key, .gap(missing))
                    d.next = lowest
                }
                try drain(&d, key, deliver)
                if d.buffered[lowest] != nil { d.buffered[lowest] = nil }  // fully old: drop
            }
            try deliver(key, .end)
        }
        directions = [:]
    }

    private mutating func buffer(_ d: inout Direction, sequence: UInt32, payload: ArraySlice<UInt8>) {
        if let existing = d.buffered[sequence] {
            let common = min(existing.count, payload.count)
            if !existing[0..<common].elementsEqual(payload.prefix(common)) { anomalies.record(Anomaly("tcp.overlap_mismatch")) }
            if payload.count > existing.count {
                d.buffered[sequence] = existing + payload.dropFirst(existing.count)
                d.bufferedBytes += payload.count - existing.count
            }
            return
        }
        d.buffered[sequence] = Array(payload)
        d.bufferedBytes += payload.count
    }

    private func drain(_ d: inout Direction, _ key: FlowEndpoints, _ deliver: (FlowEndpoints, Event) throws -> Void) rethrows {
        while !d.buffered.isEmpty {
            // The buffered segment that starts at or before `next`, if any.
            guard let start = d.buffered.keys.first(where: { Int32(bitPattern: $0 &- d.next) <= 0 }) else { return }
            let bytes = d.buffered.removeValue(forKey: start)!
            d.bufferedBytes -= bytes.count
            let skip = Int(Int32(bitPattern: d.next &- start))
            if skip < bytes.count {
                d.next = d.next &+ UInt32(bytes.count - skip)
                try deliver(key, .data(bytes[skip...]))
            }
        }
    }

    private mutating func sweep(now: Int64, _ deliver: (FlowEndpoints, Event) throws -> Void) rethrows {
        let limit = TCPReassembler.idleTimeoutSeconds * 1_000_000_000
        for (key, d) in directions where now &- d.lastSeen > limit {
            directions[key] = nil
            if !d.ended { try deliver(key, .end) }
        }
    }

    private mutating func evictOldest(_ deliver: (FlowEndpoints, Event) throws -> Void) rethrows {
        guard let oldest = directions.min(by: { $0.value.lastSeen < $1.value.lastSeen }) else { return }
        directions[oldest.key] = nil
        anomalies.record(Anomaly("tcp.direction_evicted"))
        if !oldest.value.ended { try deliver(oldest.key, .end) }
    }
}
