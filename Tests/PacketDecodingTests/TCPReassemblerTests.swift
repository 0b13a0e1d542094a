import GenevaTestSupport
import PacketDecoding
import Testing
import WireParsing

@Suite struct TCPReassemblerTests {
    static let client = FlowEndpoints(sourceAddress: [10, 0, 0, 2], destinationAddress: [10, 0, 0, 1], sourcePort: 40000, destinationPort: 80)
    static let stream: [UInt8] = Array((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) })

    static func segment(_ seq: UInt32, _ data: ArraySlice<UInt8>, flags: UInt8 = 0x18) -> TCPSegment {
        TCPSegment(endpoints: client, sequence: seq, flags: flags, payload: data)
    }

    /// Cuts the stream into segments at random points (ISN near the wrap, so
    /// sequence arithmetic wraps), then delivers them in the given order.
    static func segments(using rng: inout SeededGenerator, isn: UInt32 = 0xFFFF_FF00) -> [TCPSegment] {
        var out = [segment(isn, [], flags: 0x02)]
        var i = 0
        while i < stream.count {
            let n = Int.random(in: 1...700, using: &rng)
            let end = min(stream.count, i + n)
            out.append(segment(isn &+ 1 &+ UInt32(i), stream[i..<end]))
            i = end
        }
        out.append(segment(isn &+ 1 &+ UInt32(stream.count), [], flags: 0x11))
        return out
    }

    func run(_ segments: [TCPSegment]) -> (bytes: [UInt8], gaps: Int, ends: Int, anomalies: AnomalyCounts) {
        var r = TCPReassembler()
        var bytes: [UInt8] = [], gaps = 0, ends = 0
        let deliver: (FlowEndpoints, TCPReassembler.Event) -> Void = { _, event in
            switch event {
            case .data(let d): bytes += d
            case .gap: gaps += 1
            case .end: ends += 1
            }
        }
        for (i, s) in segments.enumerated() { r.add(s, time: Int64(i), deliver) }
        r.finish(deliver)
        return (bytes, gaps, ends, r.anomalies)
    }

    @Test func anySegmentationAndOrderGivesTheStreamOnce() {
        var rng = SeededGenerator(seed: 41)
        for round in 0..<200 {
            var segs = Self.segments(using: &rng)
            if round % 2 == 1 {
                // Reorder the data segments and retransmit a few (some overlapping).
                var middle = Array(segs[1..<(segs.count - 1)])
                middle.shuffle(using: &rng)
                for _ in 0..<3 {
                    let s = middle[Int.random(in: 0..<middle.count, using: &rng)]
                    let cut = s.payload.count / 2
                    middle.append(Self.segment(s.sequence &+ UInt32(cut), s.payload.dropFirst(cut)))
                    middle.append(s)
                }
                segs = [segs[0]] + middle + [segs[segs.count - 1]]
            }
            let (bytes, gaps, ends, anomalies) = run(segs)
            #expect(bytes == Self.stream)
            #expect(gaps == 0 && ends == 1)
            #expect(anomalies.isEmpty)
        }
    }

    @Test func aMissingSegmentIsAGapNotPaperedOver() {
        var rng = SeededGenerator(seed: 5)
        var segs = Self.segments(using: &rng)
        let lost = segs.remove(at: 3)
        let (bytes, gaps, _, anomalies) = run(segs)
        #expect(gaps == 1 && anomalies["tcp.gap"] == 1)
        #expect(bytes.count == Self.stream.count - lost.payload.count)
    }

    @Test func midStreamPickupRSTAndMismatchedOverlaps() {
        // No SYN: starts at the first segment seen.
        let a = run([Self.segment(1000, Self.stream[0..<100]), Self.segment(1100, Self.stream[100..<200])])
        #expect(a.bytes == Array(Self.stream[0..<200]))
        // A different copy of buffered (out-of-order) bytes is a mismatch; the first copy wins.
        var changed = Array(Self.stream[200..<300])
        changed[0] ^= 0xFF
        let b = run([Self.segment(1000, Self.stream[0..<100]), Self.segment(1200, Self.stream[200..<300]),
                     Self.segment(1200, changed[...]), Self.segment(1100, Self.stream[100..<200])])
        #expect(b.bytes == Array(Self.stream[0..<300]))
        #expect(b.anomalies["tcp.overlap_mismatch"] == 1)
        // RST ends the direction.
        let c = run([Self.segment(1000, Self.stream[0..<100]), Self.segment(1100, [], flags: 0x04), Self.segment(1100, Self.stream[100..<200])])
        #expect(c.ends >= 1)
    }

    @Test func outOfOrderBytesAreBounded() {
        var r = TCPReassembler()
        var gaps = 0
        // A hole at the start, then more than the buffer limit behind it.
        let chunk = Array(repeating: UInt8(7), count: 64 * 1024)
        r.add(Self.segment(0, chunk[0..<1]), time: 0) { _, _ in }
        var seq: UInt32 = 1000
        for i in 0..<20 {
            r.add(Self.segment(seq, chunk[...]), time: Int64(i)) { _, e in if case .gap = e { gaps += 1 } }
            seq &+= UInt32(chunk.count)
        }
        #expect(gaps == 1)
        #expect(r.anomalies["tcp.gap"] == 1)
    }
}
