import Foundation
import Storage
import GenevaTestSupport
import Testing

/// Runs the built `geneva` binary as a user would.
struct CLI {
    /// The store the commands use: a SQLite file in `directory`, or a schema
    /// of its own on the PostgreSQL test server (dropped when the last copy of
    /// this CLI goes).
    enum Store: String, CaseIterable, Sendable {
        case sqlite, postgres
    }

    let directory: URL
    var db: String { directory.appendingPathComponent("geneva.sqlite").path }
    let schema: TemporarySchema?

    init(_ store: Store = .sqlite) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("geneva-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        schema = store == .postgres ? TemporarySchema() : nil
    }

    /// `--db PATH` or `--database-url URL`.
    var storeArguments: [String] { schema.map { ["--database-url", $0.url] } ?? ["--db", db] }

    static let binary: String = {
        var candidates: [String] = []
        if let exe = Bundle.main.executablePath { candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
        candidates.append(RepoPaths.root() + "/.build/debug")
        for dir in candidates where FileManager.default.isExecutableFile(atPath: dir + "/geneva") {
            return dir + "/geneva"
        }
        return RepoPaths.root() + "/.build/debug/geneva"
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    func run(_ arguments: [String], useDB: Bool = true, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = useDB ? storeArguments + arguments : arguments
        // Subcommand options come after the subcommand: move --db behind it.
        if useDB, let first = arguments.first {
            var args = [first]
            var rest = Array(arguments.dropFirst())
            if first == "intel" || first == "customers", let sub = rest.first {
                args.append(sub)
                rest.removeFirst()
            }
            process.arguments = args + storeArguments + rest
        }
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "GENEVA_DB")
        env.removeValue(forKey: "GENEVA_DATABASE_URL")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func reportJSON(_ extra: [String] = []) throws -> [String: Any] {
        let r = try run(["report", "--format", "json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    static let demo = RepoPaths.fixtures + "/demo"

    /// The README's demo, into this CLI's database.
    func loadDemo() throws {
        #expect(try run(["intel", "import", CLI.demo + "/intel.csv"]).status == 0)
        #expect(try run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        for customer in ["acme", "globex", "hooli", "initech", "stark", "umbrella", "wayne"] {
            let r = try run(["scan", "--customer", customer, "--sensor", "demo-sensor", CLI.demo + "/captures/\(customer).pcap"])
            #expect(r.status == 0, "\(r.stderr)")
        }
    }
}

func nationState(_ json: [String: Any]) -> [String: Int] {
    (json["nation_state"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
}

@Suite(.serialized) struct DemoScenarioTests {
    /// Expected from the scenario's design (Fixtures/README.md), not from a run:
    /// acme (DE) queried two APT-Alpha (RU) names, globex (FR) a subdomain of
    /// one; initech (US) and hooli (US, upper case with a trailing dot) APT-Beta
    /// (CN) names. umbrella (JP) hit only a criminal and a country-less actor;
    /// wayne (GB) an expired indicator and two near misses; stark (BR) nothing.
    /// So 4 customers in 3 countries (DE, FR, US), 2 actors, 2 campaigns and
    /// 2 + 1 + 1 + 1 = 5 nation-state sightings, the first on 21 June 2026.
    @Test(arguments: CLI.Store.allCases) func demoHeadlineFollowsFromTheScenario(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let json = try cli.reportJSON()
        #expect(nationState(json) == ["customers": 4, "countries": 3, "actors": 2, "campaigns": 2, "sightings": 5])
        #expect(json["headline"] as? String == "Since 21 June 2026, nation-state actors attacked 4 customers in 3 countries.")
        #expect((json["window"] as? [String: Any])?["since"] as? String == "2026-06-21T09:14:05Z")
        let campaigns = try #require(json["campaigns"] as? [[String: Any]])
        let ghost = try #require(campaigns.first { $0["name"] as? String == "Operation Ghost Mail" })
        #expect(ghost["countries"] as? [String] == ["DE", "FR"])
        #expect(ghost["actor_country"] as? String == "RU")
        let spam = try #require(campaigns.first { $0["name"] as? String == "Invoice Spam" })
        #expect(spam["actor_country"] is NSNull, "criminal campaigns are listed but carry no country")

        let text = try cli.run(["report"])
        #expect(text.stdout.split(separator: "\n").first == "Since 21 June 2026, nation-state actors attacked 4 customers in 3 countries.")

        // A window after Alpha's activity leaves only the two US customers of Beta.
        let august = try cli.reportJSON(["--since", "2026-08-01"])
        #expect(nationState(august)["customers"] == 2 && nationState(august)["countries"] == 1)
        #expect(august["headline"] as? String == "Since 1 August 2026, nation-state actors attacked 2 customers in 1 country.")

        // The charts' series agree with the totals: one row per victim country
        // (DE 1, FR 1, US 2), weekly sightings summing to the 5.
        let victims = try #require(json["by_victim_country"] as? [[String: Any]])
        #expect(victims.map { $0["country"] as? String } == ["US", "DE", "FR"])
        #expect(victims.compactMap { $0["customers"] as? Int } == [2, 1, 1])
        let weeks = try #require(json["sightings_per_week"] as? [[String: Any]])
        #expect(weeks.compactMap { $0["sightings"] as? Int }.reduce(0, +) == 5)
        #expect(weeks.first?["week"] as? String == "2026-06-15T00:00:00Z", "21 June 2026 is a Sunday: its ISO week starts on the 15th")

        let markdown = try cli.run(["report", "--format", "markdown"])
        #expect(markdown.stdout.hasPrefix("# Since 21 June 2026, nation-state actors attacked 4 customers in 3 countries.\n"))
        let htmlPath = cli.directory.appendingPathComponent("r.html").path
        _ = try cli.run(["report", "--format", "html", "--output", htmlPath])
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        #expect(html.contains("<h1>Since 21 June 2026, nation-state actors attacked 4 customers in 3 countries.</h1>"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 3)
    }

    /// SPEC §4 totals recomputed from `geneva sightings --format ndjson` alone
    /// equal the report's.
    @Test(arguments: CLI.Store.allCases) func headlineFollowsFromTheSightingsAlone(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let out = try cli.run(["sightings", "--format", "ndjson"])
        #expect(out.status == 0)
        let lines = try out.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let ns = lines.filter { $0["nation_state"] as? Bool == true }
        let customers = Set(ns.compactMap { $0["customer"] as? String })
        let countries = Set(ns.compactMap { $0["customer_country"] as? String })
        let report = try cli.reportJSON()
        #expect(nationState(report)["customers"] == customers.count)
        #expect(nationState(report)["countries"] == countries.count)
        #expect(nationState(report)["sightings"] == ns.count)
        #expect(customers.count == 4 && countries.count == 3)
        // Every line carries the evidence and why it counts.
        let first = try #require(ns.first)
        #expect(first["flow"] is String && first["observed"] is String && first["indicator"] is [String: Any])
        let attributions = try #require(first["attributions"] as? [[String: Any]])
        #expect(attributions.contains { $0["actor_country"] is String })

        let ghost = try cli.run(["sightings", "--campaign", "intel-operation-ghost-mail", "--format", "ndjson"])
        #expect(ghost.stdout.split(separator: "\n").count == 3)
        let acme = try cli.run(["sightings", "--customer", "acme", "--format", "json"])
        let acmeRows = try #require(try JSONSerialization.jsonObject(with: Data(acme.stdout.utf8)) as? [[String: Any]])
        #expect(!acmeRows.isEmpty && acmeRows.allSatisfy { $0["customer"] as? String == "acme" })
        let table = try cli.run(["sightings"])
        #expect(table.stdout.hasPrefix("time "))
        let bad = try cli.run(["sightings", "--since", "yesterday"])
        #expect(bad.status != 0 && bad.stderr.contains("--since") && bad.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: CLI.Store.allCases) func rescanningAndReimportingChangeNothing(store: CLI.Store) throws {
        let cli = try CLI(store)
        try cli.loadDemo()
        let before = try cli.reportJSON()
        let rescan = try cli.run(["scan", "--customer", "acme", "--sensor", "demo-sensor", CLI.demo + "/captures/acme.pcap"])
        #expect(rescan.stdout.contains("2 sightings (0 new)"))
        let reimport = try cli.run(["intel", "import", CLI.demo + "/intel.csv"])
        #expect(reimport.stdout.contains("0 new indicators"))
        #expect(NSDictionary(dictionary: try cli.reportJSON()) == NSDictionary(dictionary: before))
    }

    @Test func genevaDBEnvironmentVariableSelectsTheDatabase() throws {
        let cli = try CLI()
        let path = cli.directory.appendingPathComponent("from-env.sqlite").path
        let r = try cli.run(["customers", "import", CLI.demo + "/customers.csv"], useDB: false, environment: ["GENEVA_DB": path])
        #expect(r.status == 0)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: cli.db))
    }
}

@Suite(.serialized) struct BadInputTests {
    func demoCLI() throws -> CLI {
        let cli = try CLI()
        try cli.loadDemo()
        return cli
    }

    func expectOneLineError(_ r: CLI.Result, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "one line on stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(mentioning), "\(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func databaseURLSelectsPostgreSQLAndClashesWithDB() throws {
        let cli = try CLI()
        let schema = TemporarySchema()
        let r = try cli.run(["customers", "import", CLI.demo + "/customers.csv"], useDB: false, environment: ["GENEVA_DATABASE_URL": schema.url])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("geneva.sqlite").path))
        let again = try cli.run(["customers", "import", "--database-url", schema.url, CLI.demo + "/customers.csv"], useDB: false)
        #expect(again.stdout.contains("0 customers added, 7 updated"), "\(again.stdout)")
        let both = try cli.run(["report", "--db", cli.db, "--database-url", schema.url], useDB: false)
        #expect(both.status != 0 && both.stderr.contains("--db and --database-url"))
        let unreachable = try cli.run(["report", "--database-url", "postgres://geneva:hunter2@127.0.0.1:1/x"], useDB: false)
        #expect(unreachable.status != 0 && unreachable.stderr.contains("cannot open database"))
        #expect(!unreachable.stderr.contains("hunter2"), "the password must never be printed")
    }

    @Test func unusableCapturesAreErrorsAndWriteNothing() throws {
        let cli = try demoCLI()
        let before = try cli.reportJSON()
        let text = try cli.write("notes.pcap", "this is not a capture at all, just text\n")
        expectOneLineError(try cli.run(["scan", "--customer", "acme", text]), mentioning: "notes.pcap: neither a capture (pcap) nor a mail log")
        let binary = try cli.write("blob.bin", [0x00, 0x01, 0x02, 0x03] + Array(repeating: 0xFF, count: 100))
        expectOneLineError(try cli.run(["scan", "--customer", "acme", binary]), mentioning: "blob.bin: neither a capture (pcap) nor a mail log (binary data)")
        let short = try cli.write("short.pcap", [0xD4, 0xC3, 0xB2, 0xA1, 2, 0])
        expectOneLineError(try cli.run(["scan", "--customer", "acme", short]), mentioning: "truncated pcap file header")
        let empty = try cli.write("empty.pcap", [])
        expectOneLineError(try cli.run(["scan", "--customer", "acme", empty]), mentioning: "empty file")
        expectOneLineError(try cli.run(["scan", "--customer", "acme", cli.directory.path + "/missing.pcap"]), mentioning: "missing.pcap: no such file")
        expectOneLineError(try cli.run(["scan", "--customer", "acme", cli.directory.path]), mentioning: "is a directory")
        expectOneLineError(try cli.run(["scan", "--customer", "nobody", CLI.demo + "/captures/acme.pcap"]), mentioning: "unknown customer id \"nobody\"")
        #expect(NSDictionary(dictionary: try cli.reportJSON()) == NSDictionary(dictionary: before))
    }

    @Test func truncatedCaptureKeepsItsGoodRecordsAndReportsTheDamage() throws {
        let cli = try CLI()
        #expect(try cli.run(["intel", "import", CLI.demo + "/intel.csv"]).status == 0)
        #expect(try cli.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CLI.demo + "/captures/acme.pcap")))
        let cut = try cli.write("acme-cut.pcap", Array(whole.dropLast(10)))
        let r = try cli.run(["scan", "--customer", "acme", cut])
        #expect(r.status == 0)
        #expect(r.stdout.contains("pcap.truncated_record=1"))
        // The last record (update-alpha.org on 2 July) is lost; the first sighting remains.
        #expect(r.stdout.contains("1 sighting (1 new)"))
    }

    @Test func badIntelRowsAreCountedAndUnusableFilesRejected() throws {
        let cli = try CLI()
        let csv = try cli.write("intel.csv", "kind,value,actor,actor_country\ndomain,ok.example,A,RU\nregistry,HKLM,,\nipv4,1.2.3.999,,\ndomain,x.example,B,Narnia\n")
        let r = try cli.run(["intel", "import", csv])
        #expect(r.status == 0)
        #expect(r.stdout.contains("imported 1 records"))
        #expect(r.stdout.contains("skipped 3: "))
        #expect(r.stdout.contains("unknown_kind=1") && r.stdout.contains("invalid_ipv4=1") && r.stdout.contains("invalid_actor_country=1"))

        let json = try cli.write("notes.json", "{\"notes\": []}")
        expectOneLineError(try cli.run(["intel", "import", json]), mentioning: "notes.json: JSON that is neither")
        let noHeader = try cli.write("list.csv", "evil.example\nbad.example\n")
        expectOneLineError(try cli.run(["intel", "import", noHeader]), mentioning: "list.csv: not an intel CSV")
        expectOneLineError(try cli.run(["intel", "import", cli.directory.path + "/nope.csv"]), mentioning: "nope.csv: no such file")
        let customers = try cli.write("customers.csv", "id,name\nacme,Acme\n")
        expectOneLineError(try cli.run(["customers", "import", customers]), mentioning: "lacks column(s) country")
    }

    @Test func badDatesAreRejected() throws {
        let cli = try CLI()
        expectOneLineError(try cli.run(["report", "--since", "last summer"]), mentioning: "--since")
        expectOneLineError(try cli.run(["report", "--until", "2026-02-30"]), mentioning: "--until")
    }

    @Test func observablesPrintsNDJSON() throws {
        let cli = try CLI()
        let r = try cli.run(["observables", "--format", "ndjson", CLI.demo + "/captures/hooli.pcap"], useDB: false)
        #expect(r.status == 0)
        let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("dns-query") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["evidence"] as? String == "dns-query")
        #expect(object["value"] as? String == "CDN.Beta-Sync.ORG", "observables are printed as seen, minus the root dot")
        #expect(object["flow"] as? String == "udp 10.4.0.99:40002 -> 10.4.0.1:53")
        #expect(object["offset"] as? Int == 24)
        #expect(object["time"] as? String == "2026-09-10T22:15:42Z")
    }
}

/// A schema of its own on the PostgreSQL test server, dropped at deinit.
final class TemporarySchema: Sendable {
    /// The server's URL, and this schema's name on it.
    let server: String, name: String
    /// What `--database-url` takes.
    var url: String { server + (server.contains("?") ? "&" : "?") + "schema=" + name }

    init() {
        server = ProcessInfo.processInfo.environment["GENEVA_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "postgres://geneva@127.0.0.1:54329/postgres"
        name = "c_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }

    deinit { try? PostgresStore.dropSchema(url: url) }
}
