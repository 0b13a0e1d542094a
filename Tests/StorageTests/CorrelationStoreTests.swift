import Correlation
import Foundation
import GenevaTestSupport
import Storage
import Testing
import TelemetryModel
import ThreatIntel

/// `correlate` on a real database: hand-built scenarios whose right
/// clustering is known (SPEC §4).
@Suite struct CorrelationStoreTests {
    static let intel = """
        kind,value,actor,actor_country,campaign
        domain,a1.example,APT-A,RU,
        domain,a2.example,APT-A,RU,
        domain,a3.example,,,
        domain,b1.example,APT-B,CN,
        domain,b2.example,APT-B,CN,
        ipv4,203.0.113.80,,,
        domain,intel-campaign.example,APT-A,RU,Op Known
        """

    static let customers = ["a", "b", "x1", "x2", "x3"].map { Customer(id: $0, name: $0, country: CountryCode("DE")!) }

    func scenario(_ backend: Backend) throws -> TemporaryStore {
        let t = try TemporaryStore(backend)
        _ = try t.importCSV(Self.intel)
        _ = try t.store.importCustomers(Self.customers)
        // APT-A's domains and an unattributed one at customer a within hours,
        // APT-B's at customer b; a popular CDN address at both and at three more.
        _ = try t.scan("a", [
            try t.sighting("a1.example", "a", "2026-03-01T10:00:00Z"), try t.sighting("a2.example", "a", "2026-03-01T12:00:00Z"),
            try t.sighting("a3.example", "a", "2026-03-01T13:00:00Z"), try t.sighting("203.0.113.80", "a", "2026-03-01T14:00:00Z"),
            try t.sighting("intel-campaign.example", "a", "2026-03-01T11:00:00Z"),
        ])
        _ = try t.scan("b", [
            try t.sighting("b1.example", "b", "2026-03-02T10:00:00Z"), try t.sighting("b2.example", "b", "2026-03-02T11:00:00Z"),
            try t.sighting("203.0.113.80", "b", "2026-03-02T12:00:00Z"),
        ])
        for c in ["x1", "x2", "x3"] { _ = try t.scan(c, [try t.sighting("203.0.113.80", c, "2026-03-03T10:00:00Z")]) }
        return t
    }

    func membership(_ t: TemporaryStore) throws -> [Set<String>: NationStateReport.CampaignRow] {
        var out: [Set<String>: NationStateReport.CampaignRow] = [:]
        for c in try t.store.campaigns(window: TimeWindow()) where c.origin == .clustered {
            let values = Set(try t.store.sightings(window: TimeWindow(), campaignID: c.id).map(\.indicatorValue))
            out[values] = c
        }
        return out
    }

    @Test(arguments: Backend.allCases) func sharedAddressOverTheLimitDoesNotMergeActors(backend: Backend) throws {
        let t = try scenario(backend)
        var p = Clusterer.Parameters.default
        p.correlationLimit = 3
        let summary = try t.store.correlate(parameters: p)
        #expect(summary.sightings == 10)  // the intel campaign's sighting is not clustered
        #expect(summary.popularIndicators == 1)
        let clusters = try membership(t)
        #expect(Set(clusters.keys) == [["a1.example", "a2.example", "a3.example"], ["b1.example", "b2.example"], ["203.0.113.80"]])
        let a = try #require(clusters[["a1.example", "a2.example", "a3.example"]])
        #expect(a.actor == "APT-A" && a.confidence == 67 && a.actorCountry == CountryCode("RU"))
        #expect(clusters[["b1.example", "b2.example"]]?.actor == "APT-B")
        #expect(clusters[["203.0.113.80"]]?.actor == nil)

        // The trap is real: with a high limit the address merges both actors.
        p.correlationLimit = 100
        _ = try t.store.correlate(parameters: p)
        let merged = try membership(t)
        #expect(merged.count == 1)
        #expect(merged.keys.first?.count == 6)
    }

    @Test(arguments: Backend.allCases) func idsAreStableAcrossRebuildsAndTheReportCountsClusteredCampaigns(backend: Backend) throws {
        let t = try scenario(backend)
        var p = Clusterer.Parameters.default
        p.correlationLimit = 3
        _ = try t.store.correlate(parameters: p)
        let first = try t.store.campaigns(window: TimeWindow())
        _ = try t.store.correlate()  // stored parameters are reused
        let again = try t.store.campaigns(window: TimeWindow())
        #expect(first == again)
        #expect(try t.store.correlationParameters() == p)

        let report = try t.store.nationStateReport(window: TimeWindow())
        // Op Known + the APT-A cluster + the APT-B cluster; the address cluster is unattributed.
        #expect(report.totals.campaigns == 3)
        #expect(report.campaigns.count == 4)
        #expect(report.totals.customers == 2)

        let bID = try #require(first.first { $0.actor == "APT-B" }?.id)
        let detail = try #require(try t.store.campaign(id: bID, window: TimeWindow()))
        #expect(detail.evidence.map(\.reason) == ["seed", "same-customer"])
        #expect(detail.evidence[1].via == detail.evidence[0].sighting.id)
        #expect(detail.evidence[1].why.contains("linked to sighting"))
        let known = try #require(try t.store.campaign(id: "intel-op-known", window: TimeWindow()))
        #expect(known.evidence.map(\.reason) == ["intel"])
        #expect(known.evidence[0].why.contains("intel.csv"))
    }

    /// `scan` correlates only when new sightings can change a cluster.
    @Test(arguments: Backend.allCases) func correlationRunsOnlyWhenNewSightingsLackAnIntelCampaign(backend: Backend) throws {
        let t = try scenario(backend)
        #expect(try t.store.correlateIfNeeded() != nil)
        #expect(try t.store.correlateIfNeeded() == nil)
        _ = try t.scan("x1", [try t.sighting("intel-campaign.example", "x1", "2026-04-01T10:00:00Z")])
        #expect(try t.store.correlateIfNeeded() == nil)
        _ = try t.scan("x1", [try t.sighting("a1.example", "x1", "2026-04-01T11:00:00Z")])
        #expect(try t.store.correlateIfNeeded()?.sightings == 11)
    }

    /// Intel that later puts clustered indicators into an intel campaign takes
    /// them out of the clusters once `correlate` runs again (as `intel import` does).
    @Test(arguments: Backend.allCases) func newIntelCampaignTakesSightingsOutOfClusters(backend: Backend) throws {
        let t = try scenario(backend)
        var p = Clusterer.Parameters.default
        p.correlationLimit = 3
        _ = try t.store.correlate(parameters: p)
        #expect(try membership(t).keys.contains(["b1.example", "b2.example"]))
        _ = try t.importCSV("kind,value,actor,actor_country,campaign\ndomain,b1.example,APT-B,CN,Op Bee\ndomain,b2.example,APT-B,CN,Op Bee\n", source: "later.csv")
        _ = try t.store.correlate()
        #expect(!(try membership(t).keys.contains { $0.contains("b1.example") }))
        let bee = try #require(try t.store.campaigns(window: TimeWindow()).first { $0.id == "intel-op-bee" })
        #expect(bee.sightings == 2 && bee.origin == .intel)
    }

    @Test(arguments: Backend.allCases) func stixReportLinksIndicatorsAcrossCustomers(backend: Backend) throws {
        let t = try TemporaryStore(backend)
        let bundle = """
            {"type": "bundle", "id": "bundle--1", "objects": [
              {"type": "indicator", "id": "indicator--1", "spec_version": "2.1", "pattern_type": "stix",
               "pattern": "[domain-name:value = 'r1.example']", "valid_from": "2026-01-01T00:00:00Z"},
              {"type": "indicator", "id": "indicator--2", "spec_version": "2.1", "pattern_type": "stix",
               "pattern": "[domain-name:value = 'r2.example']", "valid_from": "2026-01-01T00:00:00Z"},
              {"type": "indicator", "id": "indicator--3", "spec_version": "2.1", "pattern_type": "stix",
               "pattern": "[domain-name:value = 'other.example']", "valid_from": "2026-01-01T00:00:00Z"},
              {"type": "report", "id": "report--1", "spec_version": "2.1", "name": "Quarterly APT report",
               "published": "2026-01-02T00:00:00Z", "object_refs": ["indicator--1", "indicator--2"]}
            ]}
            """
        let doc = try IntelImporter.parse(Array(bundle.utf8), source: "bundle.json")
        _ = try t.store.importIntel(source: "bundle.json", format: "stix", statements: doc.records, skipped: doc.skipped)
        _ = try t.store.importCustomers(Self.customers)
        _ = try t.scan("a", [try t.sighting("r1.example", "a", "2026-03-01T10:00:00Z")])
        _ = try t.scan("b", [try t.sighting("r2.example", "b", "2026-03-05T10:00:00Z")])
        _ = try t.scan("x1", [try t.sighting("other.example", "x1", "2026-03-05T10:00:00Z")])
        _ = try t.store.correlate()
        let clusters = try membership(t)
        #expect(Set(clusters.keys) == [["r1.example", "r2.example"], ["other.example"]])
        let id = try #require(clusters[["r1.example", "r2.example"]]?.id)
        let detail = try #require(try t.store.campaign(id: id, window: TimeWindow()))
        #expect(detail.evidence.last?.why.contains("intel report Quarterly APT report") == true)
    }
}

/// Sighting identity is stored as a 64-bit hash; a collision between two
/// different sightings must not drop either (SPEC §3 idempotence stays exact).
@Suite struct IdentityHashTests {
    @Test(arguments: Backend.allCases) func collidingIdentitiesAreBothKeptAndRepeatsStillAddNothing(backend: Backend) throws {
        let t = try TemporaryStore(backend)
        _ = try t.importCSV("kind,value\ndomain,a.example\ndomain,b.example\n")
        _ = try t.store.importCustomers([Customer(id: "a", name: "A", country: CountryCode("DE")!)])
        let s = try t.sighting("a.example", "a", "2026-03-01T10:00:00Z")
        let h = try t.store.identityHash(
            indicatorID: s.indicatorID, customerID: s.customerID, sensor: s.sensor, evidence: s.evidence.rawValue, key: s.key,
            time: s.time.nanoseconds)
        // Another sighting (of b.example) that happens to hold s's hash.
        let other = try t.indicatorID("b.example")
        try t.store.write { db in
            try db.execute("""
                INSERT INTO sighting (indicator_id, customer_id, sensor, time, evidence, key, source, "offset", observed, customer_n, identity)
                VALUES (?, 'a', 's1', 0, 'dns-query', 'other', 'x.pcap', 0, 'b.example', 1, ?)
                """, [.integer(other), .integer(h)])
        }
        #expect(try t.scan("a", [s]) == 1)
        #expect(try t.scan("a", [s]) == 0)
        #expect(try t.store.sightingCount() == 2)
        #expect(try t.store.sightings(window: TimeWindow()).map(\.indicatorValue).sorted() == ["a.example", "b.example"])
    }
}
