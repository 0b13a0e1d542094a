import Testing
import TelemetryModel

@Suite struct StableHashTests {
    /// The reference vector of the SipHash paper (appendix A): key 00..0f,
    /// message 00..0e.
    @Test func sipHashMatchesTheReferenceVector() {
        let k0 = UInt64(littleEndian: 0x0706_0504_0302_0100), k1 = UInt64(littleEndian: 0x0f0e_0d0c_0b0a_0908)
        #expect(StableHash.sipHash24(Array(0..<15), k0: k0, k1: k1) == 0xa129_ca61_49be_45e5)
        // The paper's table of 64 vectors starts with the empty message.
        #expect(StableHash.sipHash24([], k0: k0, k1: k1) == 0x726f_db47_dd0e_0e31)
        #expect(StableHash.sipHash24(Array(0..<8), k0: k0, k1: k1) == 0x93f5_f579_9a93_2462)
    }

    @Test func uuidsAreWellFormedVersion4AndStable() {
        let u = StableHash.uuid("x")
        #expect(u == StableHash.uuid("x") && u != StableHash.uuid("y"))
        let parts = u.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[2].first == "4")
        #expect("89ab".contains(parts[3].first!))
    }
}
