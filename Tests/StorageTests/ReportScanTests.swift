import Correlation
import Foundation
import GenevaTestSupport
import Storage
import Testing
import TelemetryModel
import ThreatIntel

/// Differential: the one-pass report (`nationStateReport`, `campaigns`)
/// equals the SQL definition (`attributedCTE`) on random deployments: several
/// sources per indicator, validity windows, campaigns with and without
/// actors, actors with and without countries, clustered campaigns.
@Suite struct ReportScanTests {
    @Test(arguments: Backend.allCases, [1, 2, 3, 4, 5, 6, 7, 8])
    func onePassReportEqualsTheSQLDefinition(backend: Backend, seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let t = try TemporaryStore(backend)
        let actors = ["APT-One,RU", "apt-two,CN", "Apt-Three,RU", "Gang,", "Other,IR", "Quiet,"]
        let campaigns = ["Op A", "Op B", "Op C", "Op D", ""]
        let days = (1...28).map { String(format: "2026-%02d-%02d", Int.random(in: 1...12, using: &rng), $0) }
        for source in ["one.csv", "two.csv"] {
            var csv = "kind,value,actor,actor_country,campaign,valid_from,valid_until\n"
            for i in 0..<40 where Bool.random(using: &rng) || source == "one.csv" {
                let actor = Int.random(in: 0..<8, using: &rng) < 6 ? actors[Int.random(in: 0..<actors.count, using: &rng)] : ","
                let campaign = campaigns[Int.random(in: 0..<campaigns.count, using: &rng)]
                var from = "", until = ""
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    let a = days.randomElement(using: &rng)!, b = days.randomElement(using: &rng)!
                    (from, until) = (min(a, b), max(a, b) == min(a, b) ? "" : max(a, b))
                }
                csv += "domain,d\(i).example,\(actor),\(campaign),\(from),\(until)\n"
            }
            _ = try t.importCSV(csv, source: source)
        }
        let countries = ["DE", "FR", "US", "JP", "BR"]
        _ = try t.store.importCustomers((0..<12).map { Customer(id: "c\($0)", name: "C\($0)", country: CountryCode(countries[$0 % 5])!) })
        for c in 0..<12 {
            var sightings: [Sighting] = []
            for n in 0..<40 {
                let time = "\(days.randomElement(using: &rng)!)T\(String(format: "%02d", Int.random(in: 0..<24, using: &rng))):00:0\(n % 10)Z"
                var s = try t.sighting("d\(Int.random(in: 0..<40, using: &rng)).example", "c\(c)", time)
                s.key = "flow \(n)"
                sightings.append(s)
            }
            _ = try t.scan("c\(c)", sightings)
        }
        var p = Clusterer.Parameters.default
        p.correlationLimit = Int.random(in: 1...8, using: &rng)
        _ = try t.store.correlate(parameters: p)

        var windows = [TimeWindow()]
        for _ in 0..<3 {
            let a = Timestamp(parsing: days.randomElement(using: &rng)!)!, b = Timestamp(parsing: days.randomElement(using: &rng)!)!
            windows.append(TimeWindow(since: min(a, b), until: max(a, b)))
        }
        windows.append(TimeWindow(since: Timestamp(parsing: "2026-06-01")))
        for window in windows {
            let fast = try t.store.nationStateReport(window: window)
            let sql = try t.store.nationStateReportSQL(window: window)
            #expect(fast == sql, "window \(window)")
            #expect(try t.store.campaigns(window: window) == (try t.store.campaignsSQL(window: window)))
            #expect(try t.store.sightings(window: window) == (try t.store.sightingsSQL(window: window)))
            for campaign in try t.store.campaigns(window: window).prefix(3) {
                #expect(try t.store.sightings(window: window, campaignID: campaign.id) == (try t.store.sightingsSQL(window: window, campaignID: campaign.id)))
            }
            #expect(try t.store.sightings(window: window, customerID: "c3") == (try t.store.sightingsSQL(window: window, customerID: "c3")))
            for country in ["RU", "CN", "IR", "US"] {
                let code = CountryCode(country)!
                #expect(try t.store.campaigns(window: window, actorCountry: code) == (try t.store.campaignsSQL(window: window, actorCountry: code)))
            }
        }
        // The scenario is not degenerate: nation-state and other sightings, intel and clustered campaigns.
        let whole = try t.store.nationStateReport(window: TimeWindow())
        #expect(whole.totals.sightings > 0 && whole.totals.sightings < 480)
        #expect(Set(whole.campaigns.map(\.origin)) == [.intel, .clustered])
    }
}
