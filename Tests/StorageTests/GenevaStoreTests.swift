import Foundation
import GenevaTestSupport
import Storage
import Testing
import TelemetryModel
import ThreatIntel

/// A fresh database in a temporary directory, removed at deinit.
final class TemporaryStore {
    let directory: URL
    let store: GenevaStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("geneva-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try GenevaStore(path: directory.appendingPathComponent("test.sqlite").path)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func importCSV(_ text: String, source: String = "intel.csv") throws -> GenevaStore.IntelImportSummary {
        let doc = try IntelImporter.parse(Array(text.utf8), source: source)
        return try store.importIntel(source: source, format: "csv", statements: doc.records, skipped: doc.skipped)
    }

    func indicatorID(_ value: String) throws -> Int64 {
        try #require(try store.indicatorEntries().first { $0.value == value }?.indicatorID)
    }

    func sighting(_ value: String, _ customer: String, _ time: String, sensor: String = "s1") throws -> Sighting {
        Sighting(indicatorID: try indicatorID(value), customerID: customer, sensor: sensor, time: Timestamp(parsing: time)!,
                 evidence: .dnsQuery, key: "udp 10.0.0.2:1 -> 10.0.0.1:53", source: "t.pcap", offset: 24, observed: value)
    }

    func scan(_ customer: String, _ sightings: [Sighting]) throws -> Int {
        try store.recordScan(.init(customerID: customer, sensor: "s1", source: "t.pcap", firstTime: sightings.map(\.time).min(),
                                   lastTime: sightings.map(\.time).max(), records: sightings.count, observables: sightings.count, anomalies: [:]),
                             sightings: sightings)
    }
}

@Suite struct GenevaStoreTests {
    static let intel = """
        kind,value,actor,actor_country,campaign,valid_from,valid_until
        domain,alpha.example,APT-A,RU,Op One,2026-01-01,
        domain,beta.example,APT-B,CN,,2026-01-01,2026-07-01
        domain,crime.example,CrimeGang,,,,
        domain,unattributed.example,,,,,
        domain,camp.example,,,Op Two,,
        email,x@alpha.example,APT-A,RU,Op Two,,
        """

    static let customers = [
        Customer(id: "a", name: "A", country: CountryCode("DE")!), Customer(id: "b", name: "B", country: CountryCode("FR")!),
        Customer(id: "c", name: "C", country: CountryCode("US")!), Customer(id: "d", name: "D", country: CountryCode("US")!),
        Customer(id: "e", name: "E", country: CountryCode("JP")!),
    ]

    func scenario() throws -> TemporaryStore {
        let t = try TemporaryStore()
        _ = try t.importCSV(Self.intel)
        _ = try t.store.importCustomers(Self.customers)
        _ = try t.scan("a", [t.sighting("alpha.example", "a", "2026-06-10T10:00:00Z")])
        _ = try t.scan("b", [t.sighting("beta.example", "b", "2026-06-20T10:00:00Z")])
        _ = try t.scan("c", [t.sighting("beta.example", "c", "2026-07-05T10:00:00Z")])
        _ = try t.scan("d", [t.sighting("crime.example", "d", "2026-06-11T10:00:00Z"), t.sighting("unattributed.example", "d", "2026-06-12T10:00:00Z")])
        _ = try t.scan("e", [t.sighting("camp.example", "e", "2026-06-25T10:00:00Z")])
        return t
    }

    @Test func countsFollowSpecSection4() throws {
        let t = try scenario()
        let report = try t.store.nationStateReport(window: TimeWindow())
        // a (DE): APT-A, RU. b (FR): APT-B, CN, inside validity. c: beta after valid_until → no.
        // d: criminal and unattributed → no. e (JP): Op Two, whose actor APT-A (RU) came from the e-mail row.
        #expect(report.totals == .init(customers: 3, countries: 3, actors: 2, campaigns: 2, sightings: 3))
        #expect(report.firstSighting == Timestamp(parsing: "2026-06-10T10:00:00Z"))
        #expect(report.byActorCountry.map(\.country.code) == ["RU", "CN"])
        #expect(report.byActorCountry[0].actors == ["APT-A"] && report.byActorCountry[0].customers == 2 && report.byActorCountry[0].countries == 2)
        #expect(report.coverage.sensors == 5 && report.coverage.sensorsReporting == 5)
        let names = report.campaigns.map(\.name)
        #expect(Set(names) == ["Op One", "Op Two"])
        let two = try #require(report.campaigns.first { $0.name == "Op Two" })
        #expect(two.actor == "APT-A" && two.actorCountry?.code == "RU" && two.countries.map(\.code) == ["JP"] && two.origin == .intel)
        #expect(two.id == "intel-op-two")
    }

    @Test func windowSelectsSightingsByTime() throws {
        let t = try scenario()
        let window = TimeWindow(since: Timestamp(parsing: "2026-06-15"), until: Timestamp(parsing: "2026-06-21"))
        let report = try t.store.nationStateReport(window: window)
        #expect(report.totals == .init(customers: 1, countries: 1, actors: 1, campaigns: 0, sightings: 1))
        #expect(report.coverage.sensorsReporting == 1)
    }

    @Test func rescanningAndReimportingAddNothing() throws {
        let t = try scenario()
        let entries = try t.store.indicatorEntries().count
        let again = try t.scan("a", [t.sighting("alpha.example", "a", "2026-06-10T10:00:00Z")])
        #expect(again == 0)
        #expect(try t.store.sightingCount() == 6)
        let summary = try t.importCSV(Self.intel)
        #expect(summary.newIndicators == 0)
        #expect(try t.store.indicatorEntries().count == entries)
        #expect(try t.store.nationStateReport(window: TimeWindow()).totals.customers == 3)
    }

    @Test func reimportingAChangedSourceReplacesWhatItSaid() throws {
        let t = try scenario()
        _ = try t.importCSV("kind,value,actor,actor_country\ndomain,alpha.example,APT-A,RU\n")
        // beta/camp/crime statements of intel.csv are gone; only alpha remains attributed.
        let report = try t.store.nationStateReport(window: TimeWindow())
        #expect(report.totals.customers == 1)
        _ = try t.importCSV(Self.intel, source: "other.csv")
        #expect(try t.store.nationStateReport(window: TimeWindow()).totals.customers == 3)
    }

    @Test func unknownCustomerWritesNothing() throws {
        let t = try scenario()
        let before = try t.store.sightingCount()
        #expect(throws: StorageError.self) { try t.scan("nobody", [t.sighting("alpha.example", "nobody", "2026-06-10T10:00:00Z")]) }
        #expect(try t.store.sightingCount() == before)
        #expect(try t.store.customer(id: "nobody") == nil)
        #expect(try t.store.customer(id: "a")?.country.code == "DE")
    }

    @Test func actorCountryIsFilledInButNeverSilentlyOverwritten() throws {
        let t = try TemporaryStore()
        _ = try t.importCSV("kind,value,actor,actor_country\ndomain,a.example,APT-X,\n", source: "1.csv")
        _ = try t.importCSV("kind,value,actor,actor_country\ndomain,b.example,apt-x,IR\n", source: "2.csv")
        let summary = try t.importCSV("kind,value,actor,actor_country\ndomain,c.example,APT-X,KP\n", source: "3.csv")
        #expect(summary.conflictingActorCountries == 1)
        _ = try t.store.importCustomers([Customer(id: "a", name: "A", country: CountryCode("DE")!)])
        _ = try t.scan("a", [t.sighting("a.example", "a", "2026-01-01T00:00:00Z")])
        let report = try t.store.nationStateReport(window: TimeWindow())
        #expect(report.byActorCountry.map(\.country.code) == ["IR"])
        #expect(report.byActorCountry.first?.actors == ["APT-X"])
    }

    @Test func slugsAreStable() {
        #expect(GenevaStore.slug("Operation Ghost Mail!") == "operation-ghost-mail")
        #expect(GenevaStore.slug("  --  ") == "campaign")
    }

    @Test func unopenableDatabaseIsAnError() {
        #expect(throws: StorageError.self) { try GenevaStore(path: "/nonexistent-dir/x/y.sqlite") }
    }
}
