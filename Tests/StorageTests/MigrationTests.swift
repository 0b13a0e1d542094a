import Foundation
import GenevaTestSupport
import Storage
import Testing
import TelemetryModel

/// A database written by the last released schema (v2: the sighting table
/// with its six-column identity) upgrades to the current one with nothing
/// lost: same sightings, same report, and idempotence still holds.
@Suite struct MigrationTests {
    @Test func releasedSchemaUpgradesWithNothingLost() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("geneva-migration-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        do {
            let old = try SQLiteStore(path: path, upTo: "v2-actor-aliases")
            try old.executeForTesting("""
                INSERT INTO customer (id, name, country) VALUES ('a', 'A', 'DE'), ('b', 'B', 'FR');
                INSERT INTO actor (id, name, country) VALUES (1, 'APT-X', 'RU');
                INSERT INTO actor_alias (alias, actor_id) VALUES ('APT-X', 1);
                INSERT INTO campaign (id, key, name, origin, actor_id) VALUES (1, 'intel-op', 'Op', 'intel', 1);
                INSERT INTO indicator (id, kind, value) VALUES (1, 'domain', 'x.example'), (2, 'domain', 'y.example');
                INSERT INTO intel_source (id, name, format, imported_at) VALUES (1, 'old.csv', 'csv', 0);
                INSERT INTO intel_entry (indicator_id, source_id, actor_id, campaign_id, valid_from) VALUES
                    (1, 1, 1, 1, -9223372036854775808), (2, 1, 1, NULL, -9223372036854775808);
                INSERT INTO sensor (customer_id, name) VALUES ('a', 's1'), ('b', 's1');
                INSERT INTO sighting (indicator_id, customer_id, sensor, time, evidence, key, source, offset, observed) VALUES
                    (1, 'a', 's1', 1782000000000000000, 'dns-query', 'k1', 'a.pcap', 24, 'x.example'),
                    (1, 'b', 's1', 1782000100000000000, 'dns-query', 'k2', 'b.pcap', 24, 'x.example'),
                    (2, 'b', 's1', 1782000200000000000, 'http-host', 'k3', 'b.pcap', 90, 'y.example');
                """)
        }
        let store = try SQLiteStore(path: path)
        let rows = try store.sightings(window: TimeWindow())
        #expect(rows.map(\.observed) == ["x.example", "x.example", "y.example"])
        let report = try store.nationStateReport(window: TimeWindow())
        #expect(report == (try store.nationStateReportSQL(window: TimeWindow())))
        #expect(report.totals == .init(customers: 2, countries: 2, actors: 1, campaigns: 1, sightings: 3))
        // The migrated identities still de-duplicate a re-scan.
        let again = Sighting(
            indicatorID: 1, customerID: "a", sensor: "s1", time: Timestamp(nanoseconds: 1_782_000_000_000_000_000), evidence: .dnsQuery,
            key: "k1", source: "a.pcap", offset: 24, observed: "x.example")
        #expect(try store.recordScan(
            .init(customerID: "a", sensor: "s1", source: "a.pcap", firstTime: nil, lastTime: nil, records: 1, observables: 1, anomalies: [:]),
            sightings: [again]) == 0)
        #expect(try store.sightingCount() == 3)
    }
}
