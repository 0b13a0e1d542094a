import Foundation
import GenevaTestSupport
import Storage
import Testing
import TelemetryModel
import ThreatIntel

/// Every intel file in `../shared/fixtures-real/intel` imports, and
/// `intel stats` agrees with the counts the fixture's `expected/` holds
/// (computed with python stix2 / pymisp / plain json, independently of
/// Geneva). The expected counts are derived here from those files, with the
/// mapping of their object paths and MISP types to Geneva kinds written out.
@Suite struct RealIntelTests {
    static let intel = RepoPaths.fixturesReal + "/intel/"

    func expected(_ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: RepoPaths.fixturesReal + "/expected/\(file).expected.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func importAlone(_ file: String, _ backend: Backend) throws -> (TemporaryStore, IntelStats) {
        let t = try TemporaryStore(backend)
        let doc = try IntelImporter.load(path: Self.intel + file)
        _ = try t.store.importIntel(source: doc.source, format: doc.format.rawValue, statements: doc.records,
                                    actors: doc.actors, campaigns: doc.campaigns, skipped: doc.skipped)
        return (t, try t.store.intelStats())
    }

    /// STIX object path → Geneva kind (SPEC §2); CIDR values become `cidr`.
    static func kind(_ object: String, _ path: String, _ value: String) -> String? {
        let quoted = value.hasPrefix("'") ? String(value.dropFirst().dropLast()) : value
        switch (object, path.lowercased()) {
        case ("domain-name", "value"): return "domain"
        case ("ipv4-addr", "value"): return quoted.contains("/") ? "cidr" : "ipv4"
        case ("ipv6-addr", "value"): return quoted.contains("/") ? "cidr" : "ipv6"
        case ("file", "hashes.md5"): return "md5"
        case ("file", "hashes.sha-1"): return "sha1"
        case ("file", "hashes.sha-256"): return "sha256"
        default: return nil
        }
    }

    /// Distinct values by kind from the expected `indicators` list: an
    /// indicator whose comparisons are joined by AND across properties of a
    /// non-file object is a conjunction and yields nothing.
    func stixKinds(_ expected: [String: Any]) throws -> (byKind: [String: Int], conjunctions: Int, otherPatternTypes: [String: Int]) {
        var values: [String: Set<String>] = [:]
        var conjunctions = 0
        var others: [String: Int] = [:]
        for indicator in try #require(expected["indicators"] as? [[String: Any]]) {
            guard let comparisons = indicator["comparisons"] as? [[Any]] else {
                others[indicator["pattern_type"] as? String ?? "?", default: 0] += 1
                continue
            }
            let pattern = indicator["pattern"] as? String ?? ""
            if pattern.contains(" AND "), !comparisons.allSatisfy({ ($0[0] as? String) == "file" }) {
                conjunctions += 1
                continue
            }
            for c in comparisons {
                let object = c[0] as! String, path = c[1] as! String, value = c[3] as! String
                if let kind = Self.kind(object, path, value) {
                    values[kind, default: []].insert(String(value.dropFirst().dropLast()).lowercased())
                }
            }
        }
        return (values.mapValues(\.count), conjunctions, others)
    }

    func byKind(_ stats: IntelStats) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: stats.indicatorsByKind.map { ($0.key.rawValue, $0.value) })
    }

    @Test(arguments: Backend.allCases) func stixBundleAPT1(backend: Backend) throws {
        let e = try expected("stix21-apt1-report.json")
        let (_, stats) = try importAlone("stix21-apt1-report.json", backend)
        let kinds = try stixKinds(e)
        #expect(byKind(stats) == kinds.byKind)
        #expect(kinds.byKind == ["cidr": 4, "domain": 3, "md5": 3])
        #expect(stats.skipped == ["stix_pattern_and": kinds.conjunctions])
        let actors = try #require(e["actors"] as? [[String: Any]])
        #expect(stats.actors == actors.count)
        #expect(stats.actorsWithCountry == actors.filter { $0["country"] is String }.count)
        #expect(stats.campaigns == (e["objects_by_type"] as? [String: Int])?["campaign", default: 0])
    }

    @Test(arguments: Backend.allCases) func stixJSONLinesAPT31(backend: Backend) throws {
        let e = try expected("sekoia-apt31-stix21.jsonl")
        let (_, stats) = try importAlone("sekoia-apt31-stix21.jsonl", backend)
        let kinds = try stixKinds(e)
        #expect(byKind(stats) == kinds.byKind)
        #expect(stats.skipped["pattern_type_yara"] == kinds.otherPatternTypes["yara"])
        #expect(stats.campaigns == (e["campaigns"] as? [Any])?.count)
        #expect(stats.actors == (e["actors"] as? [Any])?.count)
        #expect(stats.sources == ["sekoia-apt31-stix21.jsonl": stats.indicators])
    }

    @Test(arguments: Backend.allCases) func mispEventQakbotEmotet(backend: Backend) throws {
        let e = try expected("pymisp-event-qakbot-emotet.json")
        let (_, stats) = try importAlone("pymisp-event-qakbot-emotet.json", backend)
        let network = try #require(e["network_values"] as? [[Any]])
        let ips = Set(network.filter { ($0[0] as? String) == "ip-dst" && ($0[2] as? Bool) == true }.map { $0[1] as! String })
        let types = try #require(e["attribute_types_all"] as? [String: Int])
        #expect(byKind(stats) == ["ipv4": ips.count, "md5": types["md5"]!, "sha1": types["sha1"]!, "sha256": types["sha256"]!])
        let total = (e["attributes_top_level"] as! Int) + (e["attributes_in_objects"] as! Int)
        #expect(stats.skipped["not_to_ids"] == total - (e["to_ids_all"] as! Int))
        #expect(stats.skipped["unsupported_type:filename"] == types["filename"])
        #expect(stats.campaigns == 1, "one event is one campaign, named by its info")
        #expect((e["galaxy_tags"] as? [String])?.contains { $0.hasPrefix("misp-galaxy:threat-actor") } == false)
        #expect(stats.actors == 0, "tool and banker galaxies are not actors")
    }

    @Test(arguments: Backend.allCases) func mispGalaxyThreatActors(backend: Backend) throws {
        let e = try expected("misp-galaxy-threat-actor.json")
        let (_, stats) = try importAlone("misp-galaxy-threat-actor.json", backend)
        #expect(stats.actors == e["clusters"] as? Int)
        #expect(stats.actorsWithCountry == e["clusters_with_country"] as? Int)
        let top = try #require(e["country_histogram_top20"] as? [[Any]])
        for pair in top {
            #expect(stats.actorsByCountry[pair[0] as! String] == pair[1] as? Int, "\(pair)")
        }
        #expect(stats.indicators == 0)
    }

    @Test(arguments: Backend.allCases, ["zeek-intel-gru-aa25.intel", "zeek-doc-intel-basic.dat"])
    func zeekIntel(backend: Backend, file: String) throws {
        let e = try expected(file)
        let (_, stats) = try importAlone(file, backend)
        let list = try #require(e["indicator_list"] as? [[String]])
        var expectedKinds: [String: Set<String>] = [:]
        for row in list {
            let kind = row[1] == "Intel::DOMAIN" ? "domain" : (row[0].contains(":") ? "ipv6" : "ipv4")
            expectedKinds[kind, default: []].insert(row[0].lowercased())
        }
        #expect(byKind(stats) == expectedKinds.mapValues(\.count))
        #expect(stats.indicators == e["distinct_indicators"] as? Int)
        #expect(stats.skipped.isEmpty)
    }

    @Test(arguments: Backend.allCases) func everythingTogetherAndReimportingChangesNothing(backend: Backend) throws {
        let t = try TemporaryStore()
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.intel).sorted()
        #expect(files.count == 6)
        func importAll() throws {
            for file in files {
                let doc = try IntelImporter.load(path: Self.intel + file)
                _ = try t.store.importIntel(source: doc.source, format: doc.format.rawValue, statements: doc.records,
                                            actors: doc.actors, campaigns: doc.campaigns, skipped: doc.skipped)
            }
        }
        try importAll()
        let first = try t.store.intelStats()
        try importAll()
        #expect(try t.store.intelStats() == first)
        // APT1 and APT31 from STIX meet their galaxy clusters by name: the
        // galaxy gives them a country.
        #expect(first.actorsWithCountry == 476)
        let apt31 = try t.store.actorCountry(named: "APT31")
        #expect(apt31 == "CN")
    }
}
