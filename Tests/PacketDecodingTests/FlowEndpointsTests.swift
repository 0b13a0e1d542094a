import PacketDecoding
import Testing

@Suite struct FlowEndpointsTests {
    static func ends(_ a: [UInt8], _ ap: UInt16, _ b: [UInt8], _ bp: UInt16) -> FlowEndpoints {
        FlowEndpoints(sourceAddress: a, destinationAddress: b, sourcePort: ap, destinationPort: bp)
    }

    /// Both directions of a flow share one canonical value (and so one entry
    /// in a set of flows); different flows keep different ones.
    @Test func canonicalIsTheSameForBothDirectionsOnly() {
        let v6a = [UInt8](repeating: 0, count: 15) + [1], v6b = [0x20, 0x01] + [UInt8](repeating: 0, count: 13) + [2]
        let flows = [
            Self.ends([10, 0, 0, 1], 40000, [10, 0, 0, 2], 53),
            Self.ends([10, 0, 0, 2], 40000, [10, 0, 0, 1], 53),
            Self.ends([10, 0, 0, 1], 53, [10, 0, 0, 2], 40001),
            Self.ends([10, 0, 0, 1], 40000, [10, 0, 0, 1], 53),
            Self.ends([10, 0, 0, 1], 53, [10, 0, 0, 1], 53),
            Self.ends(v6a, 443, v6b, 50000),
            Self.ends(v6b, 443, v6a, 50000),
        ]
        var seen = Set<FlowEndpoints>()
        for f in flows {
            #expect(f.canonical == f.reversed.canonical)
            #expect(f.canonical == f || f.canonical == f.reversed)
            seen.insert(f.canonical)
        }
        // Every listed flow is distinct as an unordered pair of endpoints.
        #expect(seen.count == flows.count)
        #expect(Set(flows + flows.map(\.reversed)).count == 2 * flows.count - 1)  // the self-flow is its own reverse
    }

    /// Equal values hash equally (the custom `hash(into:)`).
    @Test func equalValuesHashEqually() {
        let a = Self.ends([192, 168, 1, 1], 1234, [8, 8, 8, 8], 53), b = Self.ends([192, 168, 1, 1], 1234, [8, 8, 8, 8], 53)
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a.reversed.reversed == a)
    }
}
