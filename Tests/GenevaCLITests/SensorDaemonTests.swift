import Foundation
import GenevaTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `geneva sensor` as a child process: live capture on `lo`, intel reload,
/// shipping through an outage, `kill -9` in the middle of a followed log,
/// SIGTERM.
@Suite(.serialized) struct SensorDaemonTests {
    /// A running `geneva sensor` with its `/metrics` and `/healthz` on a
    /// loopback port; SIGTERM'd at deinit if still running.
    final class Daemon: @unchecked Sendable {
        let process = Process()
        let base: String
        let log: String

        init(config: String, directory: URL) throws {
            log = directory.appendingPathComponent("sensor-\(UUID().uuidString.prefix(8)).log").path
            #expect(FileManager.default.createFile(atPath: log, contents: nil))
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["sensor", "--config", config]
            process.currentDirectoryURL = directory
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            var seen = ""
            while !seen.contains("metrics on ") || !seen.hasSuffix("\n") {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { break }
                seen += String(decoding: data, as: UTF8.self)
            }
            guard let range = seen.range(of: "metrics on ") else {
                process.waitUntilExit()
                throw ServeTests.CLIError(message: "geneva sensor did not start: \(seen) \(try String(contentsOfFile: log, encoding: .utf8))")
            }
            base = "http://" + String(seen[range.upperBound...].prefix { !$0.isWhitespace })
            // Keep draining stdout so the child never blocks on a full pipe.
            out.fileHandleForReading.readabilityHandler = { h in _ = h.availableData }
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }

        /// One HTTP/1.0 GET on a connection of its own, with a 10 s timeout
        /// (plain sockets: a shared URLSession was seen to stall for a minute
        /// while the other suites ran).
        func get(_ path: String) async throws -> String {
            let hostPort = base.dropFirst("http://".count)
            guard let colon = hostPort.lastIndex(of: ":"), let port = UInt16(hostPort[hostPort.index(after: colon)...]) else {
                throw ServeTests.CLIError(message: "bad base \(base)")
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw ServeTests.CLIError(message: "socket failed") }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw ServeTests.CLIError(message: "connect to \(base) failed") }
            let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
            guard send(fd, request, request.count, 0) == request.count else { throw ServeTests.CLIError(message: "send failed") }
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            // Until the body announced by Content-Length is in (or the server closes).
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n < 0 { throw ServeTests.CLIError(message: "no answer from \(base)\(path) within 10 s") }
                if n == 0 { break }
                response += buffer[0..<n]
                if let end = response.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).lowercased()
                    if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                        let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                        response.count - end.upperBound >= length
                    {
                        return String(decoding: response[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
                    }
                }
            }
            let text = String(decoding: response, as: UTF8.self)
            guard let split = text.range(of: "\r\n\r\n") else { throw ServeTests.CLIError(message: "not HTTP: \(text.prefix(100))") }
            return String(text[split.upperBound...])
        }

        func health() async throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(try await get("/healthz").utf8)) as? [String: Any])
        }

        /// Sum of a metric's samples (every label set).
        func metric(_ name: String) async throws -> Double {
            try await get("/metrics").split(separator: "\n").filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }

        /// SIGTERM and the exit status.
        func stop() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }

        var stderr: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    /// Polls `condition` every 100 ms for up to `seconds`.
    /// Polls `condition` every 100 ms for up to `seconds` (generous: the
    /// other suites run alongside); on timeout records the daemon's log.
    static func eventually(
        _ what: String, seconds: Double = 60, sensor daemon: Daemon? = nil, _ condition: () async throws -> Bool
    ) async throws {
        let end = Date().addingTimeInterval(seconds)
        // Checked once more after every wake-up: the other suites' blocking
        // work can hold this task off the (2-thread) pool past the deadline.
        while true {
            if try await condition() { return }
            if Date() >= end { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let metrics = (try? await daemon?.get("/metrics")) ?? ""
        Issue.record("not within \(seconds) s: \(what)\n\(daemon?.stderr ?? "")\n\(metrics)")
        throw ServeTests.CLIError(message: what)
    }

    static func sightings(_ cli: CLI) throws -> [[String: Any]] {
        let r = try cli.run(["sightings", "--format", "ndjson"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Postfix line `n` (distinct second and queue id: one sighting each).
    static func mailLine(_ n: Int) -> String {
        String(
            format: "Nov 26 %02d:%02d:%02d mx1 postfix/smtpd[%d]: %010X: client=unknown[203.0.113.66]\n", (n / 3600) % 24, (n / 60) % 60, n % 60,
            100 + n % 30000, 0xA0000000 + n)
    }

    static func append(_ path: String, _ text: String) throws {
        if !FileManager.default.fileExists(atPath: path) { #expect(FileManager.default.createFile(atPath: path, contents: nil)) }
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.seekToEnd()
        h.write(Data(text.utf8))
        try h.close()
    }

    /// DNS queries for `names` to 127.0.0.1:53 (nobody needs to answer).
    static func query(_ names: [String]) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(53).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for (i, name) in names.enumerated() {
            let message = PacketBuilder.dnsQuery(id: UInt16(i + 1), names: [name])
            let sent = withUnsafePointer(to: &address) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(sent == message.count)
        }
    }

    /// A store with the demo's intel and customers.
    func demoStore() throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run(["intel", "import", CLI.demo + "/intel.csv"]).status == 0)
        #expect(try cli.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        return cli
    }

    func config(_ cli: CLI, _ body: String) throws -> String {
        try cli.write(
            "sensor.yaml",
            """
            customer: acme
            sensor: edge-1
            state_directory: \(cli.directory.path)/state
            metrics:
              listen: 127.0.0.1:0
            \(body)
            """)
    }

    @Test(.enabled(if: getuid() == 0, "live capture needs root")) func liveCaptureOnLoopbackSightsDNSQueriesAndIntelReloads() async throws {
        let cli = try CLI()
        #expect(try cli.run(["customers", "import", CLI.demo + "/customers.csv"]).status == 0)
        let intel = try cli.write("intel.csv", try String(contentsOfFile: CLI.demo + "/intel.csv", encoding: .utf8))
        #expect(try cli.run(["intel", "import", intel]).status == 0)
        let yaml = try config(
            cli,
            """
            intel:
              files: [\(intel)]
              poll_seconds: 0.2
            capture:
              interfaces: [lo]
              filter: udp port 53
              timeout_milliseconds: 20
            db: \(cli.db)
            upstream:
              batch: 100
            """)
        let sensor = try Daemon(config: yaml, directory: cli.directory)
        try Self.query(["alpha-cdn.net", "www.update-alpha.org", "example.com", "reloaded-intel.example"])
        try await Self.eventually("two live sightings stored", sensor: sensor) { try await sensor.metric("geneva_sensor_shipped_total") >= 2 }
        #expect(try await sensor.metric("geneva_sensor_packets_total") >= 4)
        #expect(try await sensor.metric("geneva_sensor_kernel_drops") == 0)

        // New intel: the file changes (the store learns it too); the sensor reloads without a restart.
        try Self.append(intel, "domain,reloaded-intel.example,APT-Alpha,RU,Operation Ghost Mail,2026-01-01,,80\n")
        #expect(try cli.run(["intel", "import", intel]).status == 0)
        try await Self.eventually("intel generation 2", sensor: sensor) { try await sensor.health()["intel_generation"] as? Int == 2 }
        #expect(try await sensor.health()["indicators"] as? Int == 11)
        try Self.query(["reloaded-intel.example"])
        try await Self.eventually("the new indicator sighted", sensor: sensor) { try await sensor.metric("geneva_sensor_shipped_total") >= 3 }
        // SIGHUP reloads too.
        kill(sensor.process.processIdentifier, SIGHUP)
        try await Self.eventually("intel generation 3", sensor: sensor) { try await sensor.health()["intel_generation"] as? Int == 3 }

        #expect(sensor.stop() == 0, "\(sensor.stderr)")
        let live = try Self.sightings(cli).filter { $0["source"] as? String == "live:lo" }
        let observed = Set(live.compactMap { $0["observed"] as? String })
        #expect(observed == ["alpha-cdn.net", "www.update-alpha.org", "reloaded-intel.example"])
        #expect(live.allSatisfy { ($0["flow"] as? String)?.hasSuffix("-> 127.0.0.1:53") == true && $0["evidence"] as? String == "dns-query" })
    }

    @Test func shippingSurvivesAnOutageAndDeliversEachSightingOnce() async throws {
        let central = try demoStore()
        var server: ServeTests.Server? = try ServeTests.Server(central)
        let address = String(server!.base.dropFirst("http://".count))
        let cli = try CLI()
        let log = cli.directory.appendingPathComponent("mail.log").path
        // The sensor knows one indicator more than the server.
        let intel = try cli.write(
            "intel.csv",
            try String(contentsOfFile: CLI.demo + "/intel.csv", encoding: .utf8)
                + "ipv4,198.51.100.77,APT-Alpha,RU,Operation Ghost Mail,2026-01-01,,80\n")
        let yaml = try config(
            cli,
            """
            intel:
              files: [\(intel)]
            logs:
              files: [\(log)]
              poll_milliseconds: 50
            upstream:
              url: \(server!.base)
              token: \(ServeTests.sensorToken)
              batch: 40
              max_backoff_seconds: 0.5
            """)
        let sensor = try Daemon(config: yaml, directory: cli.directory)
        try Self.append(log, (0..<100).map(Self.mailLine).joined())
        try await Self.eventually("100 shipped", sensor: sensor) { try await sensor.metric("geneva_sensor_shipped_total") == 100 }

        server = nil  // SIGTERM: the server is down
        try Self.append(log, (100..<250).map(Self.mailLine).joined())
        try await Self.eventually("150 waiting in the spool", sensor: sensor) { try await sensor.health()["spool_depth"] as? Int == 150 }
        try await Task.sleep(nanoseconds: 1_500_000_000)  // a few failed attempts
        #expect(try await sensor.metric("geneva_sensor_ship_failures_total") >= 2, "\(sensor.stderr)")
        #expect(try await sensor.metric("geneva_sensor_shipping_lag_seconds") > 0)

        server = try ServeTests.Server(central, listen: address)
        try await Self.eventually("the spool emptied", sensor: sensor) { try await sensor.health()["spool_depth"] as? Int == 0 }
        // A sighting the server refuses for good (422: not in its intel) is set aside; the rest goes on.
        try Self.append(log, "Nov 26 23:59:59 mx1 postfix/smtpd[9]: FFFFFFFFFF: client=unknown[198.51.100.77]\n" + Self.mailLine(250))
        try await Self.eventually("one set aside, the spool emptied", sensor: sensor) {
            let health = try await sensor.health()
            return health["set_aside"] as? Int == 1 && health["spool_depth"] as? Int == 0
        }
        #expect(sensor.stop() == 0, "\(sensor.stderr)")
        server = nil
        let stored = try Self.sightings(central)
        #expect(stored.count == 251)
        #expect(Set(stored.compactMap { $0["offset"] as? Int }) == Set(1...250).union([252]))
    }

    @Test func killDashNineInTheMiddleOfAFollowedLogLosesAndRepeatsNothing() async throws {
        let cli = try demoStore()
        let log = cli.directory.appendingPathComponent("mail.log").path
        let yaml = try config(
            cli,
            """
            intel:
              files: [\(CLI.demo)/intel.csv]
            logs:
              files: [\(log)]
              poll_milliseconds: 20
            db: \(cli.db)
            """)
        var written = 0
        func write(_ count: Int) throws {
            try Self.append(log, (written..<(written + count)).map(Self.mailLine).joined())
            written += count
        }
        var sensor = try Daemon(config: yaml, directory: cli.directory)
        // A writer appending while the sensor reads; SIGKILL part-way.
        while written < 3000 {
            try write(150)
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        kill(sensor.process.processIdentifier, SIGKILL)
        sensor.process.waitUntilExit()
        try write(100)
        // What the killed sensor committed: lines read (position) — the rest is still to read.
        let position = try #require(Int(Self.sqlite(cli.directory.path + "/state/spool.sqlite", "SELECT lines FROM log_position")))
        #expect(position > 0 && position <= written)
        sensor = try Daemon(config: yaml, directory: cli.directory)
        while written < 6000 { try write(300) }
        let total = written
        try await Self.eventually("every line read and stored", sensor: sensor) {
            let lines = try await sensor.metric("geneva_sensor_log_lines_total")
            let depth = try await sensor.health()["spool_depth"] as? Int
            return lines >= Double(total - position) && depth == 0
        }
        // The restarted sensor read exactly the lines the killed one had not committed.
        #expect(try await sensor.metric("geneva_sensor_log_lines_total") == Double(total - position))
        #expect(sensor.stop() == 0, "\(sensor.stderr)")
        #expect(Int(try Self.sqlite(cli.directory.path + "/state/spool.sqlite", "SELECT lines FROM log_position")) == total)
        let stored = try Self.sightings(cli)
        #expect(stored.count == total)
        #expect(Set(stored.compactMap { $0["offset"] as? Int }).count == total)
    }

    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func ipLink(_ arguments: [String], check: Bool = true) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip!)
        process.arguments = ["link"] + arguments
        try process.run()
        process.waitUntilExit()
        if check { #expect(process.terminationStatus == 0, "ip link \(arguments)") }
    }

    @Test(.enabled(if: getuid() == 0 && ip != nil, "needs root and iproute2"))
    func anInterfaceThatGoesAwayIsOpenedAgain() async throws {
        let cli = try CLI()
        let name = "gv\(getpid() % 100_000)"
        func create() throws {
            try Self.ipLink(["add", name, "type", "veth", "peer", "name", name + "p"])
            try Self.ipLink(["set", name, "up"])
        }
        try create()
        defer { try? Self.ipLink(["del", name], check: false) }
        let yaml = try config(
            cli,
            """
            intel:
              files: [\(CLI.demo)/intel.csv]
            capture:
              interfaces: [\(name)]
              timeout_milliseconds: 20
            """)
        let sensor = try Daemon(config: yaml, directory: cli.directory)
        try Self.ipLink(["del", name])
        try await Self.eventually("the failure logged", sensor: sensor) { sensor.stderr.contains("opening it again") }
        try create()
        try await Self.eventually("the interface open again", sensor: sensor) { sensor.stderr.contains("\(name): open again") }
        #expect(try await sensor.health()["status"] as? String == "ok")
        #expect(sensor.stop() == 0, "\(sensor.stderr)")
    }

    @Test func badSettingsAreReportedByKey() throws {
        let cli = try CLI()
        let yaml = try cli.write("bad.yaml", "sensor: x\ncapture:\n  snaplen: 5\nlogs:\n  start_at: middle\n")
        let r = try cli.run(["sensor", "--config", yaml], useDB: false)
        #expect(r.status != 0)
        for key in ["customer: missing", "intel.files", "capture.snaplen", "logs.start_at", "no source given"] {
            #expect(r.stderr.contains(key), "\(r.stderr)")
        }
    }

    static func sqlite(_ path: String, _ query: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])", path, query]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
