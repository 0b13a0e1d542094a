import Foundation
import GenevaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL at any point of a scan leaves a consistent database (each file is
/// all or nothing; clustered campaigns rebuilt in one transaction), and
/// scanning again ends with exactly the results of an uninterrupted run.
@Suite(.serialized) struct KillConsistencyTests {
    static let customers = ["c0", "c1", "c2"]
    static let filesPerCustomer = 3

    /// Intel: 120 domains of one RU actor, the first 40 in an intel campaign,
    /// the rest clustered by `scan`.
    func setUp(_ cli: CLI) throws -> [String: [String]] {
        var intel = "kind,value,actor,actor_country,campaign\n"
        for i in 0..<120 { intel += "domain,d\(i).example,APT-K,RU,\(i < 40 ? "Op Kill" : "")\n" }
        #expect(try cli.run(["intel", "import", try cli.write("intel.csv", intel)]).status == 0)
        var customers = "id,name,country\n"
        for (i, c) in Self.customers.enumerated() { customers += "\(c),Customer \(c),\(["DE", "FR", "US"][i])\n" }
        #expect(try cli.run(["customers", "import", try cli.write("customers.csv", customers)]).status == 0)
        var files: [String: [String]] = [:]
        for (ci, c) in Self.customers.enumerated() {
            for f in 0..<Self.filesPerCustomer {
                let names = (0..<2500).map { i in i % 5 == 0 ? "d\((i / 5 + ci * 7 + f * 13) % 120).example" : "benign\(i).example.org" }
                let start = UInt32(1_782_000_000 + ci * 1_000_000 + f * 100_000)
                files[c, default: []].append(try cli.write("\(c)-\(f).pcap", PacketBuilder.dnsCapture(names: names, start: start)))
            }
        }
        return files
    }

    func scanArguments(_ cli: CLI, _ customer: String, _ files: [String]) -> [String] {
        ["scan"] + cli.storeArguments + ["--customer", customer, "--sensor", "s1"] + files
    }

    /// What a finished run is judged by.
    func outcome(_ cli: CLI) throws -> [String] {
        try [
            cli.run(["report", "--format", "json"]).stdout, cli.run(["campaigns", "--format", "json"]).stdout,
            cli.run(["sightings", "--format", "ndjson"]).stdout,
        ]
    }

    /// The store's invariants read by tools independent of the code under
    /// test: Python's sqlite3 module (with SQLite's own checks), or psql.
    func checkConsistent(_ cli: CLI) throws -> [String: Int] {
        guard let schema = cli.schema else { return try checkConsistent(sqlite: cli.db) }
        let queries = [
            "SELECT 'orphans', COUNT(*) FROM sighting s WHERE NOT EXISTS (SELECT 1 FROM scan WHERE scan.source = s.source AND scan.customer_id = s.customer_id)",
            "SELECT 'unclustered', COUNT(*) FROM cluster_sighting cs WHERE NOT EXISTS (SELECT 1 FROM sighting WHERE id = cs.sighting_id)",
            "SELECT 'file ' || source, COUNT(*) FROM sighting GROUP BY source",
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", schema.server, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"] + queries.flatMap { ["-c", $0] }
        var environment = ProcessInfo.processInfo.environment
        environment["PGOPTIONS"] = "-c search_path=\(schema.name)"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "psql failed")
        var perFile: [String: Int] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 2, let n = Int(fields[1]) else { continue }
            if fields[0].hasPrefix("file ") { perFile[String(fields[0].dropFirst(5))] = n } else { #expect(n == 0, "\(fields[0])") }
        }
        return perFile
    }

    /// SQLite's own checks plus the store's invariants, read with Python's
    /// sqlite3 module.
    func checkConsistent(sqlite db: String) throws -> [String: Int] {
        let script = """
            import json, sqlite3, sys
            c = sqlite3.connect(sys.argv[1])
            out = {"integrity": c.execute("PRAGMA integrity_check").fetchone()[0],
                   "fk": len(c.execute("PRAGMA foreign_key_check").fetchall()),
                   "orphans": c.execute("SELECT COUNT(*) FROM sighting s WHERE NOT EXISTS (SELECT 1 FROM scan WHERE scan.source = s.source AND scan.customer_id = s.customer_id)").fetchone()[0],
                   "unclustered": c.execute("SELECT COUNT(*) FROM cluster_sighting cs WHERE NOT EXISTS (SELECT 1 FROM sighting WHERE id = cs.sighting_id)").fetchone()[0],
                   "per_file": dict(c.execute("SELECT source, COUNT(*) FROM sighting GROUP BY source").fetchall())}
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, db]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["integrity"] as? String == "ok")
        #expect(json["fk"] as? Int == 0)
        #expect(json["orphans"] as? Int == 0)
        #expect(json["unclustered"] as? Int == 0)
        return (json["per_file"] as? [String: Int]) ?? [:]
    }

    @Test(arguments: CLI.Store.allCases) func killedScansLeaveAConsistentDatabaseAndRescanningCompletesIt(store: CLI.Store) throws {
        // An uninterrupted run: the expected outcome, sightings per file and
        // how long one customer's scan takes.
        let reference = try CLI(store)
        let files = try setUp(reference)
        let started = Date()
        for c in Self.customers {
            let r = try reference.run(["scan", "--customer", c, "--sensor", "s1"] + files[c]!)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let whole = Date().timeIntervalSince(started) / Double(Self.customers.count)
        let expected = try outcome(reference)
        let fileCounts = byFileName(try checkConsistent(reference))
        #expect(fileCounts.count == Self.customers.count * Self.filesPerCustomer)

        // The same inputs into a second database, scans killed at different
        // points; after each kill the database is checked; then everything is
        // scanned again.
        let victim = try CLI(store)
        let victimFiles = try setUp(victim)
        var killed = 0
        for (round, fraction) in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 0.1, 0.45, 0.75].enumerated() {
            let c = Self.customers[round % Self.customers.count]
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = scanArguments(victim, c, victimFiles[c]!)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(whole * fraction * 1_000_000))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
            for (file, n) in byFileName(try checkConsistent(victim)) {
                #expect(n == fileCounts[file], "\(file): \(n) of \(fileCounts[file] ?? -1) sightings after a kill: a partial file")
            }
        }
        #expect(killed >= 5, "most scans should have been killed mid-way (one scan takes \(whole) s)")
        for c in Self.customers {
            let r = try victim.run(["scan", "--customer", c, "--sensor", "s1"] + victimFiles[c]!)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let recovered = try outcome(victim)
        // The two databases name their files by different temporary paths.
        func normalise(_ s: String, _ cli: CLI) -> String { s.replacingOccurrences(of: cli.directory.path, with: "DIR") }
        #expect(recovered.count == expected.count)
        for (r, e) in zip(recovered, expected) { #expect(normalise(r, victim) == normalise(e, reference)) }
        #expect(expected[0].contains("\"customers\": 3"))
    }

    func byFileName(_ raw: [String: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: raw.map { (URL(fileURLWithPath: $0.key).lastPathComponent, $0.value) })
    }
}
