import GenevaTestSupport
@testable import Indicators
import Testing
import TelemetryModel

@Suite struct PayloadMatcherTests {
    static let t0 = Timestamp(parsing: "2026-06-01")!

    func matcher(_ entries: [(Int64, IndicatorKind, String)], until: Timestamp? = nil) throws -> PayloadMatcher {
        try PayloadMatcher(IndicatorSet(entries: entries.map {
            IndicatorEntry(indicatorID: $0.0, kind: $0.1, value: $0.2, validFrom: Self.t0, validUntil: until)
        }))
    }

    func ids(_ m: PayloadMatcher, _ text: String, at time: Timestamp = t0) -> [Int64] {
        m.hits(in: Array(text.utf8), at: time).map(\.match.indicatorID).sorted()
    }

    /// Scans `chunks` as one stream.
    func streamed(_ m: PayloadMatcher, _ chunks: [ArraySlice<UInt8>], at time: Timestamp = t0) -> [PayloadHit] {
        var stream = PayloadStream()
        var found: [PayloadHit] = []
        for chunk in chunks {
            Array(chunk).withUnsafeBytes { m.scan($0, stream: &stream, at: time) { found.append($0) } }
        }
        m.finish(&stream) { found.append($0) }
        return found.sorted { ($0.end, $0.match.indicatorID) < ($1.end, $1.match.indicatorID) }
    }

    @Test func wholeTokensOnly() throws {
        // SPEC §3 examples.
        let m = try matcher([(1, .domain, "evil.com"), (2, .ipv4, "198.51.100.7"), (3, .email, "ceo@evil.com"),
                             (4, .md5, "0123456789abcdef0123456789abcdef")])
        #expect(ids(m, "GET / HTTP/1.1\r\nHost: www.evil.com\r\n") == [1])
        #expect(ids(m, "see notevil.com today") == [])
        #expect(ids(m, "cdn at evil.com.example.org") == [])
        #expect(ids(m, "visit EVIL.COM. now") == [1])
        #expect(ids(m, "evil.com") == [1])
        #expect(ids(m, "from 198.51.100.70 and 1198.51.100.7 and 10.198.51.100.7") == [])
        #expect(ids(m, "ip=198.51.100.7, next") == [2])
        #expect(ids(m, "ip=198.51.100.7.") == [2])
        #expect(ids(m, "MAIL FROM:<CEO@evil.com>") == [1, 3])
        #expect(ids(m, "xceo@evil.com") == [1])  // the domain still is a whole token after '@'
        #expect(ids(m, "md5 0123456789ABCDEF0123456789ABCDEF ok") == [4])
        #expect(ids(m, "0123456789abcdef0123456789abcdef00") == [])
    }

    @Test func validityWindowAtLookup() throws {
        let until = Timestamp(parsing: "2026-07-01")!
        let m = try matcher([(1, .domain, "evil.com")], until: until)
        #expect(ids(m, "a evil.com b", at: Self.t0) == [1])
        #expect(ids(m, "a evil.com b", at: until) == [])
        #expect(ids(m, "a evil.com b", at: Timestamp(parsing: "2026-05-31")!) == [])
    }

    @Test func boundariesInTheNextChunk() throws {
        let m = try matcher([(1, .domain, "evil.com"), (2, .ipv4, "10.1.2.3")])
        let text = Array("x evil.com.example.org y evil.com z xevil.com 10.1.2.34 10.1.2.3".utf8)
        let whole = m.hits(in: text, at: Self.t0)
        #expect(whole.map(\.match.indicatorID) == [1, 2])
        for cut in 1..<text.count {
            let split = streamed(m, [text[..<cut], text[cut...]])
            #expect(split == whole, "cut \(cut)")
        }
        #expect(streamed(m, text.indices.map { text[$0...$0] }) == whole)
    }

    /// Drip-feed against a naive oracle: every occurrence of every value
    /// checked with the token rules on the whole text.
    @Test func anyChunkingGivesTheOracle() throws {
        let values: [(Int64, IndicatorKind, String)] = [
            (1, .domain, "evil.com"), (2, .domain, "a.b-c.net"), (3, .ipv4, "5.9.8.2"), (4, .ipv4, "192.0.2.10"),
            (5, .email, "x@evil.com"), (6, .sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (7, .ipv6, "2001:db8::1"),
        ]
        let m = try matcher(values)
        let pieces = ["evil.com", "EVIL.com", "a.b-c.net", "5.9.8.2", "192.0.2.10", "192.0.2.100", "x@evil.com",
                      "da39a3ee5e6b4b0d3255bfef95601890afd80709", "2001:db8::1", "2001:db8::12",
                      ".", "-", " ", "\r\n", "x", "1", ":", "@", "/"]
        var rng = SeededGenerator(seed: 42)
        for round in 0..<25 {
            var text: [UInt8] = []
            while text.count < 600 { text += Array(pieces.randomElement(using: &rng)!.utf8) }
            let expected = oracle(values, text)
            #expect(m.hits(in: text, at: Self.t0).sorted { ($0.end, $0.match.indicatorID) < ($1.end, $1.match.indicatorID) } == expected, "round \(round)")
            for maxChunk in [1, 7, 100] {
                #expect(streamed(m, randomChunks(text, using: &rng, maxChunk: maxChunk)) == expected, "round \(round) max \(maxChunk)")
            }
        }
    }

    func oracle(_ values: [(Int64, IndicatorKind, String)], _ text: [UInt8]) -> [PayloadHit] {
        func fold(_ b: UInt8) -> UInt8 { (0x41...0x5A).contains(b) ? b | 0x20 : b }
        var found: [PayloadHit] = []
        for (id, kind, value) in values {
            let v = Array(value.utf8), cls = TokenClass(kind)!
            guard v.count <= text.count else { continue }
            for start in 0...(text.count - v.count) {
                let ok = (0..<v.count).allSatisfy { cls.caseless ? fold(text[start + $0]) == fold(v[$0]) : text[start + $0] == v[$0] }
                guard ok else { continue }
                if start > 0, TokenClass.startExtends(text[start - 1], cls) { continue }
                let end = start + v.count
                if end < text.count {
                    if TokenClass.endExtends(text[end], cls) { continue }
                    if text[end] == UInt8(ascii: "."), cls.dotContinues, end + 1 < text.count, TokenClass.endExtends(text[end + 1], cls) { continue }
                }
                found.append(PayloadHit(match: IndicatorMatch(indicatorID: id, kind: kind, value: value), end: UInt64(end)))
            }
        }
        return found.sorted { ($0.end, $0.match.indicatorID) < ($1.end, $1.match.indicatorID) }
    }

    @Test func startBoundaryFarBack() throws {
        let hash = String(repeating: "ab", count: 32)
        let m = try matcher([(1, .sha256, hash)])
        // The byte before the hash arrives 64 bytes before the hash's last byte.
        let text = Array(("z" + hash + " ").utf8)
        #expect(streamed(m, [text[..<1], text[1..<64], text[64...]]) == [])
        let clean = Array((" " + hash + " ").utf8)
        #expect(streamed(m, [clean[..<1], clean[1..<64], clean[64...]]).map(\.match.indicatorID) == [1])
    }
}

@Suite struct CIDRContainmentTests {
    @Test func containmentV4AndV6() {
        let t0 = Timestamp(parsing: "2026-06-01")!
        let s = IndicatorSet(entries: [
            IndicatorEntry(indicatorID: 1, kind: .cidr, value: "10.0.0.0/8", validFrom: t0, validUntil: nil),
            IndicatorEntry(indicatorID: 2, kind: .cidr, value: "10.1.0.0/16", validFrom: t0, validUntil: nil),
            IndicatorEntry(indicatorID: 3, kind: .cidr, value: "2001:db8::/32", validFrom: t0, validUntil: nil),
            IndicatorEntry(indicatorID: 4, kind: .ipv4, value: "10.1.2.3", validFrom: t0, validUntil: nil),
        ])
        func flow(_ v: String) -> Observable { Observable(time: t0, evidence: .ipFlow, value: v, key: "k", offset: 0) }
        #expect(s.matches(flow("10.1.2.3")).map(\.indicatorID).sorted() == [1, 2, 4])
        #expect(s.matches(flow("10.200.0.1")).map(\.indicatorID) == [1])
        #expect(s.matches(flow("11.0.0.1")).isEmpty)
        #expect(s.matches(flow("2001:db8:ffff::1")).map(\.indicatorID) == [3])
        #expect(s.matches(flow("2001:db9::1")).isEmpty)
        #expect(s.matches(flow("10.1.2.3")).first { $0.indicatorID == 2 }?.kind == .cidr)
        let before = Timestamp(parsing: "2026-05-01")!
        #expect(s.matches(Observable(time: before, evidence: .ipFlow, value: "10.1.2.3", key: "k", offset: 0)).isEmpty)
    }
}
