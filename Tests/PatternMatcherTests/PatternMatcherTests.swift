import GenevaTestSupport
import PatternMatcher
import Testing

/// The naive oracle: every literal compared at every end offset.
func oracleMatches(_ literals: [Literal], _ haystack: [UInt8]) -> [Match] {
    func fold(_ b: UInt8) -> UInt8 { (0x41...0x5A).contains(b) ? b | 0x20 : b }
    var found: [Match] = []
    for lit in literals where lit.bytes.count <= haystack.count {
        let n = lit.bytes.count
        for end in n...haystack.count {
            var ok = true
            for k in 0..<n {
                let a = haystack[end - n + k], b = lit.bytes[k]
                if lit.caseless ? fold(a) != fold(b) : a != b { ok = false; break }
            }
            if ok { found.append(Match(id: lit.id, end: UInt64(end))) }
        }
    }
    return found.sorted()
}

/// Feeds `chunks` as one stream; all matches sorted.
func streamMatches(_ matcher: PatternMatcher, _ chunks: [ArraySlice<UInt8>]) -> [Match] {
    var state = StreamState()
    var found: [Match] = []
    for chunk in chunks {
        Array(chunk).withUnsafeBytes { matcher.scan($0, state: &state) { found.append($0) } }
    }
    return found.sorted()
}

func lits(_ specs: [(String, Bool)]) -> [Literal] {
    specs.enumerated().map { Literal($0.element.0, id: UInt32($0.offset), caseless: $0.element.1) }
}

/// A random literal set over a small alphabet plus a haystack made of random
/// bytes and planted copies (case-flipped at random), so that matches,
/// overlaps and near misses are frequent.
func randomCase(seed: UInt64, maxLength: Int, count: Int, haystackLength: Int) -> ([Literal], [UInt8]) {
    var rng = SeededGenerator(seed: seed)
    let alphabet = Array("abAB.c1-/x".utf8) + [0xC3, 0xE3, 0x00]
    var literals: [Literal] = []
    for i in 0..<count {
        let n = Int.random(in: 1...maxLength, using: &rng)
        let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
        literals.append(Literal(bytes, id: UInt32(i), caseless: Bool.random(using: &rng)))
    }
    var haystack: [UInt8] = []
    while haystack.count < haystackLength {
        if Int.random(in: 0..<3, using: &rng) == 0, let lit = literals.randomElement(using: &rng) {
            haystack += lit.bytes.map { b in
                Bool.random(using: &rng) && (0x61...0x7A).contains(b) ? b - 0x20 : b
            }
        } else {
            for _ in 0..<Int.random(in: 1...12, using: &rng) { haystack.append(alphabet.randomElement(using: &rng)!) }
        }
    }
    return (literals, haystack)
}

@Suite struct PatternMatcherTests {
    @Test func specExamplesCountOverlaps() throws {
        let m = try PatternMatcher(lits([("aa", true), ("a", true)]))
        #expect(m.matches(in: Array("aaa".utf8)).count == 5)
        let d = try PatternMatcher(lits([("evil.com", true), ("l.com", true)]))
        #expect(d.matches(in: Array("x.evil.com".utf8)) == [Match(id: 1, end: 10), Match(id: 0, end: 10)].sorted())
    }

    @Test func streamStateIsSixteenBytes() {
        #expect(PatternMatcher.streamStateSize == 16)
        #expect(MemoryLayout<StreamState>.stride == 16)
    }

    @Test func emptyLiteralIsAnError() {
        #expect(throws: MatcherError.self) { try PatternMatcher([Literal([], id: 3, caseless: false)]) }
    }

    @Test func caseRules() throws {
        let m = try PatternMatcher(lits([("Evil.COM", true), ("AbCdEfGh12", false), ("\u{C9}vil", true)]))
        let text = Array("EVIL.com abcdefgh12 AbCdEfGh12 \u{E9}vil \u{C9}VIL".utf8)
        #expect(m.matches(in: text) == oracleMatches(lits([("Evil.COM", true), ("AbCdEfGh12", false), ("\u{C9}vil", true)]), text))
        #expect(Set(m.matches(in: text).map(\.id)) == [0, 1, 2])
        #expect(m.matches(in: text).filter { $0.id == 1 }.count == 1)  // exact: only the second spelling
        #expect(m.matches(in: text).filter { $0.id == 2 }.count == 1)  // é (0xC3 0xA9) is not folded to É
    }

    @Test func duplicateLiteralsReportEveryID() throws {
        let set = [Literal("evil.example", id: 7, caseless: true), Literal("evil.example", id: 9, caseless: true),
                   Literal("evil.example", id: 11, caseless: false)]
        for engine in [MatcherEngine.filtered, .automaton] {
            let m = try PatternMatcher(set, engine: engine)
            #expect(m.matches(in: Array("a EVIL.example b evil.example".utf8)).map(\.id).sorted() == [7, 7, 9, 9, 11])
        }
    }

    @Test func planNamesTheEngine() throws {
        let filtered = try PatternMatcher(lits([("cdn-updates.net", true)]))
        #expect(filtered.engine == .filtered)
        #expect(filtered.plan.hasPrefix("filtered engine"))
        let many = try PatternMatcher((0..<100).map { Literal([UInt8($0)], id: UInt32($0), caseless: false) })
        #expect(many.engine == .automaton)
        #expect(many.memoryUsage > 0)
    }

    @Test(arguments: [MatcherEngine.filtered, .automaton, .auto])
    func differentialAgainstOracle(engine: MatcherEngine) throws {
        for seed in 0..<60 as Range<UInt64> {
            let maxLength = [3, 6, 12, 40][Int(seed % 4)]
            let (literals, haystack) = randomCase(seed: seed, maxLength: maxLength, count: 1 + Int(seed % 25), haystackLength: 1500)
            let m = try PatternMatcher(literals, engine: engine)
            let expected = oracleMatches(literals, haystack)
            #expect(m.matches(in: haystack) == expected, "seed \(seed)")
        }
    }

    /// Drip-feed: byte by byte, random splits and whole give the block result.
    @Test(arguments: [MatcherEngine.filtered, .automaton])
    func anyChunkingGivesTheSameMatches(engine: MatcherEngine) throws {
        var rng = SeededGenerator(seed: 99)
        for seed in 100..<140 as Range<UInt64> {
            let (literals, haystack) = randomCase(seed: seed, maxLength: [4, 9, 20, 70][Int(seed % 4)], count: 12, haystackLength: 3000)
            let m = try PatternMatcher(literals, engine: engine)
            let expected = oracleMatches(literals, haystack)
            #expect(streamMatches(m, [haystack[...]]) == expected)
            #expect(streamMatches(m, haystack.indices.map { haystack[$0...$0] }) == expected, "byte by byte, seed \(seed)")
            for maxChunk in [3, 50, 200, 1460] {
                let chunks = randomChunks(haystack, using: &rng, maxChunk: maxChunk)
                #expect(streamMatches(m, chunks) == expected, "seed \(seed) max chunk \(maxChunk)")
            }
        }
    }

    @Test func matchStraddlingEveryCutPoint() throws {
        let literal = "0123456789abcdef0123456789abcdef.evil.example"
        let set = lits([(literal, true), ("evil", true), ("EXAMPLE", false)])
        let text = Array(("GET /" + String(repeating: "z", count: 300) + literal.uppercased() + " x " + literal + String(repeating: "q", count: 300)).utf8)
        let m = try PatternMatcher(set)
        let expected = oracleMatches(set, text)
        #expect(expected.count == 5)
        for cut in 1..<text.count {
            #expect(streamMatches(m, [text[..<cut], text[cut...]]) == expected, "cut \(cut)")
        }
    }

    /// Interleaved flows, each with its own state, as in the sensor.
    @Test func interleavedStreamsKeepTheirOwnState() throws {
        var streams: [[UInt8]] = []
        var literals: [Literal] = []
        for s in 0..<8 as Range<UInt64> {
            let (l, h) = randomCase(seed: 500 + s, maxLength: 30, count: 10, haystackLength: 4000)
            if s == 0 { literals = l }
            streams.append(s == 0 ? h : h + literals.flatMap(\.bytes))
        }
        let m = try PatternMatcher(literals)
        var states = [StreamState](repeating: StreamState(), count: streams.count)
        var found = [[Match]](repeating: [], count: streams.count)
        var offset = 0
        while streams.contains(where: { offset < $0.count }) {
            for s in streams.indices where offset < streams[s].count {
                let piece = Array(streams[s][offset..<min(offset + 97, streams[s].count)])
                piece.withUnsafeBytes { m.scan($0, state: &states[s]) { found[s].append($0) } }
            }
            offset += 97
        }
        for s in streams.indices {
            #expect(found[s].sorted() == oracleMatches(literals, streams[s]))
            #expect(states[s].offset == UInt64(streams[s].count))
        }
    }

    /// Every filter step a hit, over many 256-step filter blocks.
    @Test func denseHitsAcrossFilterBlocks() throws {
        let set = lits([("abcd", true), ("bcdab", false), ("cdabcdab", true), ("dabcdabcdabc", false)])
        let text = Array(String(repeating: "abcd", count: 3000).utf8)
        let m = try PatternMatcher(set, engine: .filtered)
        let expected = oracleMatches(set, text)
        #expect(expected.count == 3000 + 2999 + 2998 + 2997)
        #expect(m.matches(in: text) == expected)
        var rng = SeededGenerator(seed: 3)
        #expect(streamMatches(m, randomChunks(text, using: &rng, maxChunk: 5000)) == expected)
    }

    @Test func longLiteralsAndEmptyChunks() throws {
        var rng = SeededGenerator(seed: 7)
        let long = (0..<700).map { _ in UInt8.random(in: 0x61...0x66, using: &rng) }
        let set = [Literal(long, id: 1, caseless: true), Literal(Array(long[100..<120]), id: 2, caseless: false)]
        let text = Array("xx".utf8) + long + Array("yy".utf8) + long.map { $0 - 0x20 }
        let m = try PatternMatcher(set)
        let expected = oracleMatches(set, text)
        #expect(expected.count == 3)
        var chunks = randomChunks(text, using: &rng, maxChunk: 300)
        chunks.insert(text[0..<0], at: 1)
        #expect(streamMatches(m, chunks) == expected)
    }

    /// Large sets switch the filter to a second-level bitmap (above ~16 Ki
    /// windows) and to two bits per key (above ~128 Ki windows); the
    /// automaton engine, which has no filter, is the reference.
    @Test(arguments: [(6_000, false), (36_000, true)])
    func largeSetsAgreeWithTheAutomaton(count: Int, twoBits: Bool) throws {
        var rng = SeededGenerator(seed: UInt64(count))
        let alphabet = Array("abcdefghij0123.-".utf8)
        let literals = (0..<count).map { i in
            let n = Int.random(in: (twoBits ? 8 : 5)...30, using: &rng)
            return Literal((0..<n).map { _ in alphabet.randomElement(using: &rng)! }, id: UInt32(i), caseless: i % 2 == 0)
        }
        var haystack: [UInt8] = []
        var planted = 0
        while haystack.count < 60_000 {
            if Int.random(in: 0..<3, using: &rng) == 0 {
                let lit = literals.randomElement(using: &rng)!
                haystack += lit.caseless ? lit.bytes.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 } : lit.bytes
                planted += 1
            } else {
                for _ in 0..<Int.random(in: 1...40, using: &rng) { haystack.append(alphabet.randomElement(using: &rng)!) }
            }
        }
        let filtered = try PatternMatcher(literals, engine: .filtered)
        #expect(filtered.plan.contains("second-level bitmap"))
        #expect(filtered.plan.contains("two bits per key") == twoBits)
        let expected = try PatternMatcher(literals, engine: .automaton).matches(in: haystack)
        #expect(expected.count >= planted)
        #expect(filtered.matches(in: haystack) == expected)
        #expect(streamMatches(filtered, randomChunks(haystack, using: &rng, maxChunk: 1460)) == expected)
    }
}
