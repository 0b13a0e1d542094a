import Foundation
import GenevaTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `geneva serve` as a child process on a loopback port: authentication,
/// uploads (idempotent, all or nothing, line-numbered errors, size limit),
/// and reads that equal the CLI's JSON — on both databases.
@Suite(.serialized) struct ServeTests {
    static let sensorToken = "sensor-7c1e-token", analystToken = "analyst-93ab-token"

    /// A running `geneva serve`; stopped (SIGTERM) at deinit. Sendable by
    /// hand: nothing changes after init but the child process it owns.
    final class Server: @unchecked Sendable {
        let process = Process()
        let base: String

        init(_ cli: CLI, _ extra: [String] = [], listen: String = "127.0.0.1:0") throws {
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["serve", "--listen", listen] + cli.storeArguments + extra
            var env = ProcessInfo.processInfo.environment
            env["TOKENS_SENSORS"] = try hash(ServeTests.sensorToken)
            env["TOKENS_ANALYSTS"] = try hash(ServeTests.analystToken)
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var seen = ""
            while !seen.contains("\n") {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { break }
                seen += String(decoding: data, as: UTF8.self)
            }
            guard let range = seen.range(of: "listening on ") else {
                throw CLIError(message: "geneva serve did not start: \(seen)")
            }
            base = "http://" + String(seen[range.upperBound...].split(separator: " ")[0])
        }

        deinit {
            process.terminate()
            process.waitUntilExit()
        }
    }

    struct CLIError: Error { var message: String }

    static func hash(_ token: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["hash-token"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data((token + "\n").utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Reply {
        var status: Int
        var contentType: String
        var body: Data
        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
    }

    func call(_ server: Server, _ method: String, _ path: String, token: String?, body: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: server.base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/x-ndjson", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return Reply(status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "", body: data)
    }

    /// Waits until the server's background correlation is done (`/healthz`).
    func idle(_ server: Server) async throws {
        for _ in 0..<200 {
            if (try await call(server, "GET", "/healthz", token: nil).json as? [String: Any])?["correlation"] as? String == "idle" { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        Issue.record("correlation still running after 10 s")
    }

    @Test(arguments: CLI.Store.allCases) func sensorsShipAndAnalystsReadWhatTheCLIShows(store: CLI.Store) async throws {
        // The demo scanned on a "sensor" store; its sightings are shipped to a
        // central store that has the same intel and customers.
        let sensor = try CLI()
        try sensor.loadDemo()
        let shipped = try sensor.run(["sightings", "--format", "ndjson"]).stdout
        let lines = shipped.split(separator: "\n").map(String.init)
        #expect(lines.count > 5)
        let central = try CLI(store)
        #expect(try central.run(["intel", "import", CLI.demo + "/intel.csv"]).status == 0)
        #expect(try central.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        let server = try Server(central)

        #expect(try await call(server, "GET", "/healthz", token: nil).status == 200)
        // Authentication and roles.
        let anonymous = try await call(server, "GET", "/v1/report", token: nil)
        #expect(anonymous.status == 401 && anonymous.contentType.hasPrefix("application/problem+json"))
        #expect((anonymous.json as? [String: Any])?["status"] as? Int == 401)
        #expect(try await call(server, "GET", "/v1/report", token: "guess").status == 401)
        #expect(try await call(server, "GET", "/v1/report", token: Self.sensorToken).status == 403)
        #expect(try await call(server, "POST", "/v1/sightings", token: Self.analystToken, body: shipped).status == 403)

        // A bad line rejects the whole batch, by number; so does an indicator the server does not know.
        let broken = lines[0] + "\n" + lines[1] + "\n{\"time\": 3}\n"
        let rejected = try await call(server, "POST", "/v1/sightings", token: Self.sensorToken, body: broken)
        #expect(rejected.status == 422 && (rejected.json as? [String: Any])?["line"] as? Int == 3)
        let unknown = lines[0] + "\n" + lines[1].replacingOccurrences(of: "\"kind\":\"domain\"", with: "\"kind\":\"sha256\"")
        let refused = try await call(server, "POST", "/v1/sightings", token: Self.sensorToken, body: unknown)
        #expect(refused.status == 422 && (refused.json as? [String: Any])?["line"] as? Int == 2, "\(String(decoding: refused.body, as: UTF8.self))")
        #expect(try central.run(["sightings", "--format", "ndjson"]).stdout.isEmpty, "a rejected batch must store nothing")

        // Shipping stores everything once; shipping again stores nothing.
        let first = try await call(server, "POST", "/v1/sightings", token: Self.sensorToken, body: shipped)
        #expect(first.status == 200)
        #expect((first.json as? [String: Any])?["stored"] as? Int == lines.count)
        let again = try await call(server, "POST", "/v1/sightings", token: Self.sensorToken, body: shipped)
        #expect((again.json as? [String: Any])?["stored"] as? Int == 0 && (again.json as? [String: Any])?["duplicates"] as? Int == lines.count)

        // Clusters are rebuilt in the background after an upload: wait for it.
        try await idle(server)
        // The server's answers are the CLI's, and the central report is the sensor's.
        func same(_ path: String, _ arguments: [String], _ cli: CLI) async throws {
            let reply = try await call(server, "GET", path, token: Self.analystToken)
            #expect(reply.status == 200, "\(path)")
            let expected = try JSONSerialization.jsonObject(with: Data(cli.run(arguments).stdout.utf8))
            #expect(NSArray(array: [try #require(reply.json)]) == NSArray(array: [expected]), "\(path) differs from geneva \(arguments)")
        }
        try await same("/v1/report", ["report", "--format", "json"], central)
        try await same("/v1/report?since=2026-08-01", ["report", "--format", "json", "--since", "2026-08-01"], central)
        try await same("/v1/campaigns", ["campaigns", "--format", "json"], central)
        try await same("/v1/campaigns/intel-operation-ghost-mail", ["campaign", "intel-operation-ghost-mail", "--format", "json"], central)
        try await same("/v1/sightings?customer=acme", ["sightings", "--customer", "acme", "--format", "json"], central)
        let report = try #require(try await call(server, "GET", "/v1/report", token: Self.analystToken).json as? [String: Any])
        let sensorReport = try #require(try JSONSerialization.jsonObject(with: Data(sensor.run(["report", "--format", "json"]).stdout.utf8)) as? [String: Any])
        #expect(report["headline"] as? String == sensorReport["headline"] as? String)
        #expect(try await call(server, "GET", "/v1/campaigns/nope", token: Self.analystToken).status == 404)
        // Metrics: the uploads above (two rejected batches, two accepted ones).
        let metrics = String(decoding: try await call(server, "GET", "/metrics", token: nil).body, as: UTF8.self)
        #expect(metrics.contains("geneva_sightings_received_total \(2 * lines.count)"), "\(metrics)")
        #expect(metrics.contains("geneva_sightings_stored_total \(lines.count)"))
        #expect(metrics.contains("geneva_upload_batches_rejected_total 2"))
        #expect(metrics.contains("hb_requests"))
        #expect(try await call(server, "GET", "/v1/report?since=yesterday", token: Self.analystToken).status == 400)
    }

    /// Several `serve` processes on one PostgreSQL store: uploads through
    /// either land once, and both answer alike.
    @Test func twoServersShareOnePostgreSQLStore() async throws {
        let sensor = try CLI()
        try sensor.loadDemo()
        let lines = try sensor.run(["sightings", "--format", "ndjson"]).stdout.split(separator: "\n").map(String.init)
        let central = try CLI(.postgres)
        #expect(try central.run(["intel", "import", CLI.demo + "/intel.csv"]).status == 0)
        #expect(try central.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        let a = try Server(central), b = try Server(central)
        let half = lines.count / 2
        async let first = call(a, "POST", "/v1/sightings", token: Self.sensorToken, body: lines[..<half].joined(separator: "\n"))
        async let second = call(b, "POST", "/v1/sightings", token: Self.sensorToken, body: lines.joined(separator: "\n"))
        let (r1, r2) = try await (first, second)
        #expect(r1.status == 200 && r2.status == 200)
        let stored = ((r1.json as? [String: Any])?["stored"] as? Int ?? -1) + ((r2.json as? [String: Any])?["stored"] as? Int ?? -1)
        #expect(stored == lines.count, "every sighting stored exactly once across the two servers")
        try await idle(a)
        try await idle(b)
        let ra = try await call(a, "GET", "/v1/report", token: Self.analystToken), rb = try await call(b, "GET", "/v1/report", token: Self.analystToken)
        #expect(ra.body == rb.body)
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(sensor.run(["report", "--format", "json"]).stdout.utf8)) as? [String: Any])
        #expect((ra.json as? [String: Any])?["headline"] as? String == expected["headline"] as? String)
    }

    @Test func sigtermStopsTheServerCleanly() async throws {
        let cli = try CLI()
        let server = try Server(cli)
        #expect(try await call(server, "GET", "/healthz", token: nil).status == 200)
        let started = Date()
        server.process.terminate()
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func oversizedBodiesAreRefused() async throws {
        let cli = try CLI()
        #expect(try cli.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        let server = try Server(cli, ["--max-body-bytes", "1000"])
        let reply = try await call(server, "POST", "/v1/sightings", token: Self.sensorToken, body: String(repeating: "x", count: 5000))
        #expect(reply.status == 413 && reply.contentType.hasPrefix("application/problem+json"))
    }
}
