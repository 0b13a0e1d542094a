import Foundation
import GenevaTestSupport
import Testing

/// `correlate`, `campaigns` and `campaign ID` on the README demo.
@Suite(.serialized) struct CampaignCLITests {
    func json(_ r: CLI.Result) throws -> Any {
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    @Test(arguments: CLI.Store.allCases) func campaignsListIntelAndClusteredCampaigns(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let all = try #require(try json(cli.run(["campaigns", "--format", "json"])) as? [[String: Any]])
        #expect(all.map { $0["id"] as? String ?? "" }.prefix(3) == ["intel-operation-ghost-mail", "intel-silk-updates", "intel-invoice-spam"])
        // umbrella's UNC4411 sighting has no intel campaign: scan clustered it.
        let clustered = try #require(all.first { $0["origin"] as? String == "clustered" })
        #expect(clustered["actor"] as? String == "UNC4411" && clustered["confidence"] as? Int == 100)
        #expect((clustered["id"] as? String)?.hasPrefix("cl-") == true)

        let ru = try #require(try json(cli.run(["campaigns", "--actor-country", "ru", "--format", "json"])) as? [[String: Any]])
        #expect(ru.map { $0["name"] as? String } == ["Operation Ghost Mail"])
        let later = try #require(try json(cli.run(["campaigns", "--since", "2026-08-01", "--format", "json"])) as? [[String: Any]])
        #expect(later.map { $0["id"] as? String } == ["intel-silk-updates"])
        #expect(try cli.run(["campaigns"]).stdout.hasPrefix("id "))

        // Rebuilding keeps the id (stable across rebuilds).
        let rebuilt = try cli.run(["correlate"])
        #expect(rebuilt.status == 0 && rebuilt.stdout.contains("1 clustered campaigns"))
        let again = try #require(try json(cli.run(["campaigns", "--format", "json"])) as? [[String: Any]])
        #expect(again.first { $0["origin"] as? String == "clustered" }?["id"] as? String == clustered["id"] as? String)
        let bad = try cli.run(["campaigns", "--actor-country", "Russia"])
        #expect(bad.status != 0 && bad.stderr.contains("--actor-country"))
    }

    @Test(arguments: CLI.Store.allCases) func campaignShowsEverySightingAndWhy(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let ghost = try #require(try json(cli.run(["campaign", "intel-operation-ghost-mail", "--format", "json"])) as? [String: Any])
        #expect(ghost["sightings"] as? Int == 3 && ghost["actor_country"] as? String == "RU")
        let evidence = try #require(ghost["evidence"] as? [[String: Any]])
        #expect(evidence.count == 3)
        for e in evidence {
            #expect(e["reason"] as? String == "intel")
            #expect((e["why"] as? String)?.contains("intel.csv") == true)
            #expect(e["flow"] is String && e["sighting"] is Int)
        }
        let text = try cli.run(["campaign", "intel-operation-ghost-mail"])
        #expect(text.stdout.hasPrefix("intel-operation-ghost-mail  Operation Ghost Mail\norigin: intel; actor: APT-Alpha (RU)"))

        let missing = try cli.run(["campaign", "no-such-campaign"])
        #expect(missing.status != 0 && missing.stderr.contains("no-such-campaign") && missing.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: CLI.Store.allCases) func correlateTakesAndKeepsItsParameters(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let r = try cli.run(["correlate", "--customer-window", "90m", "--split-gap", "14d", "--correlation-limit", "5"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 sightings without an intel campaign"))
        for bad in [["--customer-window", "1 day"], ["--split-gap", "10y"], ["--correlation-limit", "-1"]] {
            let b = try cli.run(["correlate"] + bad)
            #expect(b.status != 0 && b.stderr.contains(bad[0]), "\(bad)")
        }
    }
}
