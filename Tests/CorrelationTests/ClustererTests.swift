import Correlation
import GenevaTestSupport
import Testing

private let hour = Clusterer.Parameters.hour
private let day = 24 * hour

/// Builds inputs with sequential ids.
private struct Scenario {
    var inputs: [Clusterer.Input] = []

    mutating func add(_ indicator: Int64, _ customer: String, at time: Int64, evidence: String = "http-host", key: String? = nil) {
        let id = Int64(inputs.count + 1)
        inputs.append(Clusterer.Input(
            id: id, indicator: indicator, customer: customer, sensor: "s1", evidence: evidence, key: key ?? "flow\(id)", time: time))
    }
}

/// Indicator sets of the clusters, for comparing whole clusterings.
private func groups(_ clusters: [Clusterer.Cluster]) -> Set<Set<Int64>> {
    Set(clusters.map(\.indicators))
}

@Suite struct ClustererTests {
    @Test func oneActorsIndicatorsAtOneCustomerFormOneCampaign() {
        var s = Scenario()
        s.add(1, "c1", at: 0)
        s.add(2, "c1", at: 2 * hour)
        s.add(3, "c1", at: 5 * hour)
        s.add(10, "c2", at: 100 * day)
        s.add(11, "c2", at: 100 * day + hour)
        let clusters = Clusterer().cluster(s.inputs)
        #expect(groups(clusters) == [[1, 2, 3], [10, 11]])
        #expect(clusters[0].members.map(\.reason) == [.seed, .sameCustomer, .sameCustomer])
    }

    /// The trap: a popular shared address (seen at more customers than the
    /// limit) must not merge two actors' campaigns.
    @Test func popularSharedIndicatorDoesNotMergeCampaigns() {
        var s = Scenario()
        let shared: Int64 = 99
        s.add(1, "a1", at: 0); s.add(shared, "a1", at: hour)         // actor A at a1
        s.add(2, "b1", at: 0); s.add(shared, "b1", at: 2 * hour)     // actor B at b1
        s.add(shared, "x1", at: 3 * hour); s.add(shared, "x2", at: 4 * hour)
        var p = Clusterer.Parameters.default
        p.correlationLimit = 3
        let limited = Clusterer(parameters: p).cluster(s.inputs)
        #expect(groups(limited) == [[1], [2], [shared]])
        p.correlationLimit = 100
        let unlimited = Clusterer(parameters: p).cluster(s.inputs)
        #expect(groups(unlimited) == [[1, 2, shared]], "without the limit the shared address merges them: the trap is real")
    }

    @Test func splitWhereSightingsAreFurtherApartThanTheGap() {
        var s = Scenario()
        s.add(1, "c1", at: 0)
        s.add(1, "c2", at: 60 * day)
        s.add(2, "c2", at: 60 * day + hour)
        var p = Clusterer.Parameters.default
        p.splitGap = 30 * day
        let split = Clusterer(parameters: p).cluster(s.inputs)
        #expect(split.count == 2)
        #expect(split.map { $0.members.map(\.sighting) } == [[1], [2, 3]])
        p.splitGap = 90 * day
        let joined = Clusterer(parameters: p).cluster(s.inputs)
        #expect(joined.count == 1)
        #expect(joined[0].members.map(\.reason) == [.seed, .sameIndicator, .sameCustomer])
    }

    @Test func dnsResolutionLinksEvenWithoutCustomerWindow() {
        var s = Scenario()
        s.add(1, "c1", at: 10, evidence: "dns-query", key: "udp 10.0.0.1:5353 > 10.0.0.53:53")
        s.add(2, "c1", at: 10, evidence: "dns-answer", key: "udp 10.0.0.1:5353 > 10.0.0.53:53")
        s.add(3, "c1", at: 10, evidence: "http-host", key: "other")
        var p = Clusterer.Parameters.default
        p.customerWindow = 0
        p.correlationLimit = 0  // every indicator popular: no cross-indicator links at all
        #expect(groups(Clusterer(parameters: p).cluster(s.inputs)) == [[1], [2], [3]])
        p.correlationLimit = 10
        let clusters = Clusterer(parameters: p).cluster(s.inputs)
        // The customer window of 0 still links sightings at the very same instant.
        #expect(groups(clusters) == [[1, 2, 3]])
        #expect(clusters[0].members[1].reason == .dnsResolution)
        #expect(clusters[0].members[1].via == 1)
    }

    @Test func sameReportLinksAcrossCustomers() {
        var s = Scenario()
        s.add(1, "c1", at: 0)
        s.add(2, "c2", at: 3 * day)
        #expect(groups(Clusterer().cluster(s.inputs)) == [[1], [2]])
        let clusters = Clusterer().cluster(s.inputs, reports: [1: ["APT Report 7"], 2: ["APT Report 7"]])
        #expect(groups(clusters) == [[1, 2]])
        #expect(clusters[0].members[1] == .init(sighting: 2, via: 1, reason: .sameReport, detail: "intel report APT Report 7"))
    }

    @Test func keysAndExplanationsDoNotDependOnInputOrder() {
        var rng = SeededGenerator(seed: 7)
        let inputs = randomInputs(count: 300, using: &rng)
        let reference = Clusterer().cluster(inputs)
        for _ in 0..<5 {
            let shuffled = Clusterer().cluster(inputs.shuffled(using: &rng))
            #expect(shuffled.map(\.seed) == reference.map(\.seed))
            #expect(shuffled.map(\.members) == reference.map(\.members))
        }
        #expect(Clusterer.campaignKey(seedIdentity: "domain:evil.example|c1") == Clusterer.campaignKey(seedIdentity: "domain:evil.example|c1"))
        #expect(Clusterer.campaignKey(seedIdentity: "a").count == 19)
        #expect(Clusterer.campaignKey(seedIdentity: "a") != Clusterer.campaignKey(seedIdentity: "b"))
    }

    /// Every member's explanation leads back to the seed through members
    /// that joined before it, and each link is one the rules allow.
    @Test func explanationsFormATreeRootedAtTheSeed() {
        var rng = SeededGenerator(seed: 11)
        let inputs = randomInputs(count: 400, using: &rng)
        let byID = Dictionary(uniqueKeysWithValues: inputs.map { ($0.id, $0) })
        for cluster in Clusterer().cluster(inputs) {
            let members = Dictionary(uniqueKeysWithValues: cluster.members.map { ($0.sighting, $0) })
            #expect(cluster.members.first?.reason == .seed)
            #expect(cluster.members.filter { $0.reason == .seed }.count == 1)
            for m in cluster.members {
                var at = m
                var steps = 0
                while let via = at.via, steps <= members.count {
                    let a = byID[at.sighting]!, b = byID[via]!
                    #expect(abs(a.time - b.time) <= Clusterer.Parameters.default.splitGap)
                    switch at.reason {
                    case .sameIndicator: #expect(a.indicator == b.indicator)
                    case .sameCustomer: #expect(a.customer == b.customer && abs(a.time - b.time) <= Clusterer.Parameters.default.customerWindow)
                    case .dnsResolution: #expect(a.key == b.key && a.time == b.time)
                    case .sameReport, .seed: Issue.record("unexpected reason \(at.reason)")
                    }
                    at = members[via]!
                    steps += 1
                }
                #expect(at.sighting == cluster.seed.id)
            }
        }
    }

    /// Differential: components of the all-pairs link graph (the rule as
    /// SPEC §4 states it, O(n²)) equal the clusterer's.
    @Test(arguments: [1, 2, 3, 4, 5, 6]) func matchesAllPairsOracle(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let inputs = randomInputs(count: 250, using: &rng)
        var reports: [Int64: [String]] = [:]
        for indicator in 0..<Int64(30) where Bool.random(using: &rng) { reports[indicator] = ["r\(Int.random(in: 0..<4, using: &rng))"] }
        var p = Clusterer.Parameters.default
        p.correlationLimit = Int.random(in: 1...6, using: &rng)
        p.customerWindow = Int64.random(in: 0...(48 * hour), using: &rng)
        p.splitGap = Int64.random(in: (2 * day)...(40 * day), using: &rng)
        let clusters = Clusterer(parameters: p).cluster(inputs, reports: reports)

        var customers: [Int64: Set<String>] = [:]
        for s in inputs { customers[s.indicator, default: []].insert(s.customer) }
        func linked(_ a: Clusterer.Input, _ b: Clusterer.Input) -> Bool {
            guard abs(a.time - b.time) <= p.splitGap else { return false }
            if a.indicator == b.indicator { return true }
            guard customers[a.indicator]!.count <= p.correlationLimit, customers[b.indicator]!.count <= p.correlationLimit else { return false }
            if a.customer == b.customer && abs(a.time - b.time) <= min(p.customerWindow, p.splitGap) { return true }
            if a.evidence.hasPrefix("dns-") && b.evidence.hasPrefix("dns-") && a.customer == b.customer && a.sensor == b.sensor
                && a.key == b.key && a.time == b.time { return true }
            let ra = Set(reports[a.indicator] ?? []), rb = Set(reports[b.indicator] ?? [])
            return !ra.isDisjoint(with: rb)
        }
        var component = Array(inputs.indices)
        func find(_ x: Int) -> Int { component[x] == x ? x : find(component[x]) }
        for i in inputs.indices {
            for j in inputs.indices where j > i && linked(inputs[i], inputs[j]) {
                let (a, b) = (find(i), find(j))
                if a != b { component[a] = b }
            }
        }
        var expected: [Int: Set<Int64>] = [:]
        for i in inputs.indices { expected[find(i), default: []].insert(inputs[i].id) }
        #expect(Set(clusters.map { Set($0.members.map(\.sighting)) }) == Set(expected.values))
        #expect(clusters.reduce(0) { $0 + $1.members.count } == inputs.count)
    }
}

private func randomInputs(count: Int, using rng: inout SeededGenerator) -> [Clusterer.Input] {
    (1...count).map { id in
        let dns = Int.random(in: 0..<5, using: &rng) == 0
        return Clusterer.Input(
            id: Int64(id), indicator: Int64.random(in: 0..<30, using: &rng), customer: "c\(Int.random(in: 0..<12, using: &rng))",
            sensor: "s\(Int.random(in: 0..<2, using: &rng))", evidence: dns ? ["dns-query", "dns-answer"].randomElement(using: &rng)! : "http-host",
            key: dns ? "k\(Int.random(in: 0..<3, using: &rng))" : "f\(id)",
            time: dns ? Int64.random(in: 0..<4, using: &rng) * day : Int64.random(in: 0...(120 * day), using: &rng))
    }
}

/// Times centuries apart (a mail log may carry a year from 1700) must not
/// trap the gap arithmetic.
@Suite struct ClustererEdgeTests {
    @Test func timesCenturiesApartDoNotTrap() {
        let inputs = [
            Clusterer.Input(id: 1, indicator: 1, customer: "c", sensor: "s", evidence: "dns-query", key: "k", time: Int64.min + 1),
            Clusterer.Input(id: 2, indicator: 1, customer: "c", sensor: "s", evidence: "dns-query", key: "k", time: Int64.max - 1),
            Clusterer.Input(id: 3, indicator: 2, customer: "c", sensor: "s", evidence: "dns-query", key: "k", time: Int64.max - 1),
        ]
        var p = Clusterer.Parameters.default
        p.splitGap = Int64.max
        p.customerWindow = Int64.max
        let clusters = Clusterer(parameters: p).cluster(inputs)
        #expect(clusters.map { $0.members.map(\.sighting) } == [[1], [2, 3]])
    }
}
