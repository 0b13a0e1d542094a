import Foundation
import GenevaTestSupport
import Storage
import Testing
import TelemetryModel
import ThreatIntel

/// The databases the store suite runs on: every test taking a `Backend`
/// runs on both.
enum Backend: String, CaseIterable, Sendable {
    case sqlite, postgres

    /// The test server (`scripts/postgres-test-server.sh`, started by
    /// `scripts/test.sh`): `$GENEVA_TEST_DATABASE_URL` or its default address.
    static var postgresURL: String {
        ProcessInfo.processInfo.environment["GENEVA_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "postgres://geneva@127.0.0.1:54329/postgres"
    }
}

/// A fresh, empty store: a SQLite file in a temporary directory, or a
/// schema of its own on the PostgreSQL test server; removed at deinit.
final class TemporaryStore {
    let directory: URL
    let store: any GenevaStore
    /// PostgreSQL: the URL naming this store's schema.
    let url: String?

    init(_ backend: Backend = .sqlite) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("geneva-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch backend {
        case .sqlite:
            url = nil
            store = try SQLiteStore(path: directory.appendingPathComponent("test.sqlite").path)
        case .postgres:
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let base = Backend.postgresURL
            let url = base + (base.contains("?") ? "&" : "?") + "schema=" + schema
            self.url = url
            do {
                store = try PostgresStore(url: url)
            } catch {
                Issue.record("PostgreSQL test server unreachable (start it: bash scripts/postgres-test-server.sh): \(error)")
                throw error
            }
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
        if let url { try? PostgresStore.dropSchema(url: url) }
    }

    func importCSV(_ text: String, source: String = "intel.csv") throws -> IntelImportSummary {
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

    func scenario(_ backend: Backend) throws -> TemporaryStore {
        let t = try TemporaryStore(backend)
        _ = try t.importCSV(Self.intel)
        _ = try t.store.importCustomers(Self.customers)
        _ = try t.scan("a", [t.sighting("alpha.example", "a", "2026-06-10T10:00:00Z")])
        _ = try t.scan("b", [t.sighting("beta.example", "b", "2026-06-20T10:00:00Z")])
        _ = try t.scan("c", [t.sighting("beta.example", "c", "2026-07-05T10:00:00Z")])
        _ = try t.scan("d", [t.sighting("crime.example", "d", "2026-06-11T10:00:00Z"), t.sighting("unattributed.example", "d", "2026-06-12T10:00:00Z")])
        _ = try t.scan("e", [t.sighting("camp.example", "e", "2026-06-25T10:00:00Z")])
        return t
    }

    @Test(arguments: Backend.allCases) func countsFollowSpecSection4(backend: Backend) throws {
        let t = try scenario(backend)
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

    @Test(arguments: Backend.allCases) func windowSelectsSightingsByTime(backend: Backend) throws {
        let t = try scenario(backend)
        let window = TimeWindow(since: Timestamp(parsing: "2026-06-15"), until: Timestamp(parsing: "2026-06-21"))
        let report = try t.store.nationStateReport(window: window)
        #expect(report.totals == .init(customers: 1, countries: 1, actors: 1, campaigns: 0, sightings: 1))
        #expect(report.coverage.sensorsReporting == 1)
    }

    @Test(arguments: Backend.allCases) func rescanningAndReimportingAddNothing(backend: Backend) throws {
        let t = try scenario(backend)
        let entries = try t.store.indicatorEntries().count
        let again = try t.scan("a", [t.sighting("alpha.example", "a", "2026-06-10T10:00:00Z")])
        #expect(again == 0)
        #expect(try t.store.sightingCount() == 6)
        let summary = try t.importCSV(Self.intel)
        #expect(summary.newIndicators == 0)
        #expect(try t.store.indicatorEntries().count == entries)
        #expect(try t.store.nationStateReport(window: TimeWindow()).totals.customers == 3)
    }

    @Test(arguments: Backend.allCases) func reimportingAChangedSourceReplacesWhatItSaid(backend: Backend) throws {
        let t = try scenario(backend)
        _ = try t.importCSV("kind,value,actor,actor_country\ndomain,alpha.example,APT-A,RU\n")
        // beta/camp/crime statements of intel.csv are gone; only alpha remains attributed.
        let report = try t.store.nationStateReport(window: TimeWindow())
        #expect(report.totals.customers == 1)
        _ = try t.importCSV(Self.intel, source: "other.csv")
        #expect(try t.store.nationStateReport(window: TimeWindow()).totals.customers == 3)
    }

    @Test(arguments: Backend.allCases) func unknownCustomerWritesNothing(backend: Backend) throws {
        let t = try scenario(backend)
        let before = try t.store.sightingCount()
        #expect(throws: StorageError.self) { try t.scan("nobody", [t.sighting("alpha.example", "nobody", "2026-06-10T10:00:00Z")]) }
        #expect(try t.store.sightingCount() == before)
        #expect(try t.store.customer(id: "nobody") == nil)
        #expect(try t.store.customer(id: "a")?.country.code == "DE")
    }

    @Test(arguments: Backend.allCases) func actorCountryIsFilledInButNeverSilentlyOverwritten(backend: Backend) throws {
        let t = try TemporaryStore(backend)
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
        #expect(campaignSlug("Operation Ghost Mail!") == "operation-ghost-mail")
        #expect(campaignSlug("  --  ") == "campaign")
    }

    @Test func unopenableDatabaseIsAnError() {
        #expect(throws: StorageError.self) { try SQLiteStore(path: "/nonexistent-dir/x/y.sqlite") }
    }
}
