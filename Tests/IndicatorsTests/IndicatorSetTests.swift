import GenevaTestSupport
import Indicators
import Testing
import TelemetryModel

@Suite struct IndicatorSetTests {
    static let t0 = Timestamp(parsing: "2026-06-01")!

    func set(_ entries: [(Int64, IndicatorKind, String)], from: Timestamp = t0, until: Timestamp? = nil) -> IndicatorSet {
        IndicatorSet(entries: entries.map { IndicatorEntry(indicatorID: $0.0, kind: $0.1, value: $0.2, validFrom: from, validUntil: until) })
    }

    func dns(_ name: String, at time: Timestamp = t0) -> Observable {
        Observable(time: time, evidence: .dnsQuery, value: name, key: "k", offset: 0)
    }

    @Test func domainsMatchOnLabelBoundariesOnly() {
        // The examples of SPEC §3.
        let s = set([(1, .domain, "cdn-updates.net")])
        #expect(s.matches(dns("cdn-updates.net")).map(\.indicatorID) == [1])
        #expect(s.matches(dns("A.cdn-updates.net")).map(\.indicatorID) == [1])
        #expect(s.matches(dns("CDN-UPDATES.NET.")).map(\.indicatorID) == [1])
        #expect(s.matches(dns("mycdn-updates.net")).isEmpty)
        #expect(s.matches(dns("cdn-updates.net.example.org")).isEmpty)
        #expect(s.matches(dns("net")).isEmpty)
        #expect(s.matches(dns("")).isEmpty)
    }

    @Test func everyMatchingSuffixIsReported() {
        let s = set([(1, .domain, "example.com"), (2, .domain, "a.example.com"), (3, .domain, "b.example.com")])
        #expect(Set(s.matches(dns("x.a.example.com")).map(\.indicatorID)) == [1, 2])
    }

    @Test func validityWindowsAreHalfOpen() {
        let until = Timestamp(parsing: "2026-07-01")!
        let s = set([(1, .domain, "evil.example")], until: until)
        #expect(s.matches(dns("evil.example", at: Self.t0)).count == 1, "valid_from is inclusive")
        #expect(s.matches(dns("evil.example", at: Timestamp(nanoseconds: Self.t0.nanoseconds - 1))).isEmpty)
        #expect(s.matches(dns("evil.example", at: until)).isEmpty, "valid_until is exclusive")
    }

    @Test func severalSourcesWidenTheWindow() {
        let a = IndicatorEntry(indicatorID: 1, kind: .domain, value: "evil.example", validFrom: Timestamp(parsing: "2026-01-01")!, validUntil: Timestamp(parsing: "2026-02-01"))
        let b = IndicatorEntry(indicatorID: 1, kind: .domain, value: "evil.example", validFrom: Timestamp(parsing: "2026-03-01")!, validUntil: nil)
        let s = IndicatorSet(entries: [a, b])
        #expect(s.count == 1)
        #expect(s.matches(dns("evil.example", at: Timestamp(parsing: "2026-01-15")!)).count == 1)
        #expect(s.matches(dns("evil.example", at: Timestamp(parsing: "2026-02-15")!)).isEmpty)
        #expect(s.matches(dns("evil.example", at: Timestamp(parsing: "2027-01-01")!)).count == 1)
    }

    @Test func exactKindsNormaliseTheObservedValue() {
        let s = set([(1, .email, "hr@evil.example"), (2, .url, "http://evil.example/a"), (3, .ipv4, "198.51.100.7"), (4, .ipv6, "2001:db8::1")])
        let mail = Observable(time: Self.t0, evidence: .smtpMailFrom, value: "HR@Evil.Example", key: "k", offset: 0)
        #expect(s.matches(mail).map(\.indicatorID) == [1])
        let url = Observable(time: Self.t0, evidence: .httpURL, value: "HTTP://EVIL.example:80/a", key: "k", offset: 0)
        #expect(s.matches(url).map(\.indicatorID) == [2])
        let ip = Observable(time: Self.t0, evidence: .ipFlow, value: "198.51.100.7", key: "k", offset: 0)
        #expect(s.matches(ip).map(\.indicatorID) == [3])
        let near = Observable(time: Self.t0, evidence: .ipFlow, value: "198.51.100.70", key: "k", offset: 0)
        #expect(s.matches(near).isEmpty)
        let v6 = Observable(time: Self.t0, evidence: .ipFlow, value: "2001:DB8:0::1", key: "k", offset: 0)
        #expect(s.matches(v6).map(\.indicatorID) == [4])
    }

    /// Differential test against the definition: an indicator `d` matches a
    /// name `n` iff `n == d` or `n` ends with `"." + d` (case-insensitive).
    @Test func domainLookupAgreesWithANaiveOracle() {
        var rng = SeededGenerator(seed: 42)
        let alphabet = ["a", "b", "ab", "x-y", "c1"]
        func randomName(_ labels: ClosedRange<Int>) -> String {
            (0..<Int.random(in: labels, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined(separator: ".")
        }
        for _ in 0..<50 {
            let indicators = (0..<8).map { _ in randomName(2...3) }
            let entries = indicators.enumerated().map { (Int64($0.offset), IndicatorKind.domain, $0.element) }
            let s = set(entries)
            for _ in 0..<100 {
                let name = randomName(1...5)
                let mixed = String(name.map { Bool.random(using: &rng) ? Character($0.uppercased()) : $0 })
                let expected = Set(indicators.filter { name == $0 || name.hasSuffix("." + $0) })
                let got = Set(s.matches(dns(mixed)).map(\.value))
                #expect(got == expected, "\(mixed) against \(indicators)")
            }
        }
    }
}

@Suite struct IndicatorSetLayoutTests {
    /// Differential: the compact set agrees with a `[String: …]` oracle on
    /// random values, including absent ones and duplicates with extra windows.
    @Test func compactTablesAgreeWithADictionary() {
        var rng = SeededGenerator(seed: 77)
        var builder = IndicatorSet.Builder()
        var oracle: [String: (Int64, [(Int64, Int64)])] = [:]
        for i in 0..<20_000 {
            let value = "h\(Int.random(in: 0..<15_000, using: &rng)).example"
            let from = Int64.random(in: 0..<1000, using: &rng), until = from + Int64.random(in: 1..<500, using: &rng)
            builder.add(indicatorID: Int64(i), kind: .domain, value: value, validFrom: Timestamp(nanoseconds: from), validUntil: Timestamp(nanoseconds: until))
            if oracle[value] == nil { oracle[value] = (Int64(i), []) }
            oracle[value]!.1.append((from, until))
        }
        let set = builder.freeze()
        #expect(set.count == oracle.count)
        for _ in 0..<20_000 {
            let value = "h\(Int.random(in: 0..<16_000, using: &rng)).example"
            let t = Int64.random(in: 0..<1500, using: &rng)
            let got = set.matchDomain(value, at: Timestamp(nanoseconds: t)).map(\.indicatorID)
            var expected: [Int64] = []
            if let (id, windows) = oracle[value], windows.contains(where: { t >= $0.0 && t < $0.1 }) { expected = [id] }
            #expect(got == expected, "\(value) at \(t)")
        }
    }

    /// Size pin: a million indicators must fit in 1.5× the CSV they come from
    /// (issue 6); per indicator that leaves roughly the value plus 60 bytes.
    @Test func memoryPerIndicatorStaysSmall() {
        var builder = IndicatorSet.Builder()
        var valueBytes = 0
        for i in 0..<100_000 {
            let value = "host\(i).bench-\(i % 9973).example"
            valueBytes += value.utf8.count
            builder.add(indicatorID: Int64(i), kind: .domain, value: value, validFrom: Timestamp(nanoseconds: 0), validUntil: nil)
        }
        let set = builder.freeze()
        let overhead = (set.memoryUsage - valueBytes) / 100_000
        #expect(overhead <= 60, "\(overhead) bytes of overhead per indicator")
    }
}
