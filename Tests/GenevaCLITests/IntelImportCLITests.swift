import Foundation
import GenevaTestSupport
import Testing

@Suite(.serialized) struct IntelImportCLITests {
    static let galaxy = RepoPaths.fixturesReal + "/intel/misp-galaxy-threat-actor.json"

    func statsJSON(_ cli: CLI) throws -> [String: Any] {
        let r = try cli.run(["intel", "stats", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// A STIX bundle where the country comes through
    /// indicator → campaign → intrusion set → originates-from → location.
    static let bundle = #"""
        {"type": "bundle", "id": "bundle--1", "objects": [
          {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "pattern_type": "stix",
           "pattern": "[domain-name:value = 'beta-sync.org'] OR [ipv4-addr:value = '203.0.113.9']", "valid_from": "2026-01-01T00:00:00Z"},
          {"type": "indicator", "spec_version": "2.1", "id": "indicator--2", "pattern_type": "stix",
           "pattern": "[domain-name:value = 'revoked.example']", "valid_from": "2026-01-01T00:00:00Z", "revoked": true},
          {"type": "campaign", "spec_version": "2.1", "id": "campaign--1", "name": "Kitten Updates"},
          {"type": "intrusion-set", "spec_version": "2.1", "id": "intrusion-set--1", "name": "Pink Kitten", "aliases": ["PK-1"]},
          {"type": "location", "spec_version": "2.1", "id": "location--1", "country": "ir"},
          {"type": "relationship", "spec_version": "2.1", "id": "relationship--1", "relationship_type": "indicates",
           "source_ref": "indicator--1", "target_ref": "campaign--1"},
          {"type": "relationship", "spec_version": "2.1", "id": "relationship--2", "relationship_type": "attributed-to",
           "source_ref": "campaign--1", "target_ref": "intrusion-set--1"},
          {"type": "relationship", "spec_version": "2.1", "id": "relationship--3", "relationship_type": "originates-from",
           "source_ref": "intrusion-set--1", "target_ref": "location--1"}
        ]}
        """#

    @Test func stixAttributionThroughCampaignIntrusionSetAndLocation() throws {
        let cli = try CLI()
        let file = try cli.write("kitten.json", Self.bundle)
        let r = try cli.run(["intel", "import", file])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("stix: imported 2 records") && r.stdout.contains("revoked=1"))
        #expect(try cli.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        #expect(try cli.run(["scan", "--customer", "initech", CLI.demo + "/captures/initech.pcap"]).status == 0)
        let report = try cli.reportJSON()
        #expect(nationState(report) == ["customers": 1, "countries": 1, "actors": 1, "campaigns": 1, "sightings": 1])
        let rows = try #require(report["by_actor_country"] as? [[String: Any]])
        #expect(rows.first?["country"] as? String == "IR")
        #expect(rows.first?["actors"] as? [String] == ["Pink Kitten"])
    }

    @Test func csvActorsMeetGalaxyClustersBySynonym() throws {
        let cli = try CLI()
        #expect(try cli.run(["intel", "import", Self.galaxy]).status == 0)
        let csv = try cli.write("alpha.csv", """
            kind,value,actor,campaign
            domain,update-alpha.org,Fancy Bear,Sofacy Mail
            domain,alpha-cdn.net,Grizzly Steppe,Ambiguous
            """)
        #expect(try cli.run(["intel", "import", csv]).status == 0)
        #expect(try cli.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        #expect(try cli.run(["scan", "--customer", "acme", CLI.demo + "/captures/acme.pcap"]).status == 0)
        #expect(try cli.run(["scan", "--customer", "globex", CLI.demo + "/captures/globex.pcap"]).status == 0)
        let report = try cli.reportJSON()
        // "Fancy Bear" is a synonym of APT28 (RU) alone: acme counts. "Grizzly
        // Steppe" names both APT28 and APT29: no merge, no country, globex does not.
        #expect(nationState(report)["customers"] == 1)
        let rows = try #require(report["by_actor_country"] as? [[String: Any]])
        #expect(rows.map { $0["country"] as? String } == ["RU"])
        #expect(rows.first?["actors"] as? [String] == ["APT28"])
        let stats = try statsJSON(cli)
        #expect((stats["actors"] as? [String: Any])?["total"] as? Int == 1042, "1041 clusters plus the new Grizzly Steppe")
    }

    @Test func mispFeedDirectoryWithThreatActorGalaxy() throws {
        let cli = try CLI()
        let feed = cli.directory.appendingPathComponent("feed")
        try FileManager.default.createDirectory(at: feed, withIntermediateDirectories: true)
        try Data(#"{"5a0ac036-0000-4855-83af-422b950d210f": {"info": "Beta mail"}, "6b1bd147-0000-4855-83af-422b950d210f": {"info": "Noise"}}"#.utf8)
            .write(to: feed.appendingPathComponent("manifest.json"))
        try Data(#"""
            {"Event": {"info": "Beta mail", "uuid": "5a0ac036-0000-4855-83af-422b950d210f",
              "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [{"value": "Beta Panda", "meta": {"cfr-suspected-state-sponsor": "China", "synonyms": ["BP"]}}]}],
              "Attribute": [
                {"type": "hostname", "value": "CDN.beta-sync.org", "to_ids": true},
                {"type": "ip-dst|port", "value": "203.0.113.5|443", "to_ids": "1"},
                {"type": "domain|ip", "value": "x.beta-sync.org|2001:db8::5", "to_ids": true},
                {"type": "ip-dst", "value": "not-an-ip", "to_ids": true},
                {"type": "comment", "value": "hello", "to_ids": false}],
              "Object": [{"name": "file", "Attribute": [{"type": "sha256", "value": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "to_ids": true}]}]}}
            """#.utf8).write(to: feed.appendingPathComponent("5a0ac036-0000-4855-83af-422b950d210f.json"))
        try Data(#"{"Event": {"info": "Noise", "Attribute": [{"type": "domain", "value": "noise.example", "to_ids": true}]}}"#.utf8)
            .write(to: feed.appendingPathComponent("6b1bd147-0000-4855-83af-422b950d210f.json"))
        let r = try cli.run(["intel", "import", feed.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("misp-feed: imported 6 records"))
        let stats = try statsJSON(cli)
        #expect((stats["indicators"] as? [String: Any])?["by_kind"] as? [String: Int] == ["domain": 3, "ipv4": 1, "ipv6": 1, "sha256": 1])
        #expect(stats["campaigns"] as? Int == 2)
        #expect((stats["actors"] as? [String: Any])?["by_country"] as? [String: Int] == ["CN": 1])
        #expect(stats["skipped"] as? [String: Int] == ["invalid_ipv4": 1, "not_to_ids": 1])
        #expect(stats["sources"] as? [String: Int] == ["feed": 6])
    }

    @Test func malformedJSONNamesFileAndPositionAndWritesNothing() throws {
        let cli = try CLI()
        #expect(try cli.run(["intel", "import", CLI.demo + "/intel.csv"]).status == 0)
        let before = try statsJSON(cli)
        var broken = Self.bundle
        broken.removeLast(40)
        let file = try cli.write("broken.json", broken)
        let r = try cli.run(["intel", "import", file])
        #expect(r.status != 0)
        #expect(r.stderr.contains("broken.json: malformed JSON at line"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let after = try statsJSON(cli)
        #expect(NSDictionary(dictionary: after) == NSDictionary(dictionary: before))
        #expect((after["sources"] as? [String: Int])?["broken.json"] == nil)

        let other = try cli.write("other.json", #"{"hello": "world"}"#)
        let o = try cli.run(["intel", "import", other])
        #expect(o.status != 0 && o.stderr.contains("neither a STIX 2.1 bundle"))
        let zeek = try cli.write("z.intel", "#fields\tindicator\tindicator_type\nevil.example\tIntel::DOMAIN\nbob\tIntel::USER_NAME\nexample.com/a\tIntel::URL\n")
        let z = try cli.run(["intel", "import", zeek])
        #expect(z.status == 0 && z.stdout.contains("unsupported_type:Intel::USER_NAME=1"))
    }
}
