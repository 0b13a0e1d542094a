import Configuration
import Foundation
import MailLogs
import TelemetryModel

/// Everything `geneva sensor` is told (sensor.yaml, environment overrides;
/// docs/operations.md has the commented example).
package struct SensorSettings: Sendable {
    package var customer: String
    package var sensor: String
    /// Holds the spool (`spool.sqlite`) and the intel loader's scratch store.
    package var stateDirectory: String
    package var intelFiles: [String]
    package var intelPollSeconds: Double = 5
    package var payload = true
    package var interfaces: [String] = []
    package var capture = CaptureSettings()
    package var watchDirectories: [String] = []
    package var watchSettleSeconds: Double = 2
    package var watchPollSeconds: Double = 2
    package var logFiles: [String] = []
    package var logsPollMilliseconds = 250
    package var logsStartAtEnd = false
    /// How long a log renamed away is still read for lines its writer adds before reopening.
    package var logsRenameGraceSeconds: Double = 5
    package var logUTCOffsetSeconds: Int64 = 0
    /// `http://host:port` of a `geneva serve`; nil: sightings go to `store`.
    package var upstreamURL: String?
    package var upstreamToken: String?
    package var upstreamBatch = 1000
    package var upstreamMaxBackoffSeconds: Double = 30
    /// Store written directly when there is no upstream (SQLite path or postgres:// URL).
    package var store: String?
    /// `host:port` for `/metrics` and `/healthz`; nil: not served.
    package var metricsListen: String?

    package init(customer: String, sensor: String, stateDirectory: String, intelFiles: [String]) {
        self.customer = customer
        self.sensor = sensor
        self.stateDirectory = stateDirectory
        self.intelFiles = intelFiles
    }

    package var spoolPath: String { stateDirectory + "/spool.sqlite" }

    /// Reads the settings; every problem is reported at once, by key.
    package init(reading c: ConfigReader) throws {
        var problems: [String] = []
        func required(_ key: String) -> String {
            if let v = c.string(forKey: ConfigKey(key)), !v.isEmpty { return v }
            problems.append("\(key): missing")
            return ""
        }
        /// Seconds (or another real quantity) within `range`.
        func number(_ key: String, _ range: ClosedRange<Double>, _ fallback: Double) -> Double {
            guard let v = c.double(forKey: ConfigKey(key)) ?? c.int(forKey: ConfigKey(key)).map(Double.init) else { return fallback }
            guard v.isFinite, range.contains(v) else {
                problems.append("\(key): must be \(range.lowerBound)…\(range.upperBound)")
                return fallback
            }
            return v
        }
        /// A whole number within `range`.
        func whole(_ key: String, _ range: ClosedRange<Int>, _ fallback: Int) -> Int {
            guard c.string(forKey: ConfigKey(key)) != nil || c.int(forKey: ConfigKey(key)) != nil || c.double(forKey: ConfigKey(key)) != nil
            else { return fallback }
            guard let v = c.int(forKey: ConfigKey(key)), range.contains(v) else {
                problems.append("\(key): must be a whole number \(range.lowerBound)…\(range.upperBound)")
                return fallback
            }
            return v
        }
        customer = required("customer")
        sensor = c.string(forKey: "sensor") ?? ProcessInfo.processInfo.hostName
        stateDirectory = c.string(forKey: "state_directory") ?? "/var/lib/geneva-sensor"
        intelFiles = c.stringArray(forKey: "intel.files") ?? []
        if intelFiles.isEmpty { problems.append("intel.files: no intel file given: nothing could be sighted") }
        intelPollSeconds = number("intel.poll_seconds", 0.1...86_400, 5)
        payload = c.bool(forKey: "payload") ?? true
        interfaces = c.stringArray(forKey: "capture.interfaces") ?? []
        capture.filter = c.string(forKey: "capture.filter") ?? ""
        capture.snaplen = Int32(whole("capture.snaplen", 64...262_144, Int(capture.snaplen)))
        capture.promiscuous = c.bool(forKey: "capture.promiscuous") ?? true
        capture.bufferBytes = Int32(whole("capture.buffer_bytes", 65_536...(1 << 30), Int(capture.bufferBytes)))
        capture.immediate = c.bool(forKey: "capture.immediate") ?? false
        capture.timeoutMilliseconds = Int32(whole("capture.timeout_milliseconds", 1...10_000, Int(capture.timeoutMilliseconds)))
        watchDirectories = c.stringArray(forKey: "watch.directories") ?? []
        watchSettleSeconds = number("watch.settle_seconds", 0...86_400, 2)
        watchPollSeconds = number("watch.poll_seconds", 0.01...3600, 2)
        logFiles = c.stringArray(forKey: "logs.files") ?? []
        logsPollMilliseconds = whole("logs.poll_milliseconds", 1...60_000, 250)
        logsRenameGraceSeconds = number("logs.rename_grace_seconds", 0...3600, 5)
        switch c.string(forKey: "logs.start_at") ?? "beginning" {
        case "beginning": logsStartAtEnd = false
        case "end": logsStartAtEnd = true
        case let other: problems.append("logs.start_at: \(other.prefix(20).debugDescription): beginning or end")
        }
        if let text = c.string(forKey: "logs.utc_offset") {
            if let seconds = SensorSettings.utcOffset(text) { logUTCOffsetSeconds = seconds } else { problems.append("logs.utc_offset: expected ±hh:mm") }
        }
        upstreamURL = c.string(forKey: "upstream.url")
        if let url = upstreamURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            problems.append("upstream.url: must start with http:// or https://")
        }
        upstreamToken = c.string(forKey: "upstream.token", isSecret: true)
        if upstreamToken == nil, let file = c.string(forKey: "upstream.token_file") {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) {
                upstreamToken = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                problems.append("upstream.token_file: \(file) cannot be read")
            }
        }
        if upstreamURL != nil, (upstreamToken ?? "").isEmpty { problems.append("upstream.token or upstream.token_file: needed with upstream.url") }
        upstreamBatch = whole("upstream.batch", 1...100_000, 1000)
        upstreamMaxBackoffSeconds = number("upstream.max_backoff_seconds", 0.1...86_400, 30)
        store = c.string(forKey: "database_url", isSecret: true) ?? c.string(forKey: "db")
        metricsListen = c.string(forKey: "metrics.listen")
        if interfaces.isEmpty, watchDirectories.isEmpty, logFiles.isEmpty {
            problems.append("capture.interfaces, watch.directories, logs.files: no source given")
        }
        if !problems.isEmpty { throw SensorError("sensor settings: " + problems.joined(separator: "; ")) }
    }

    /// `±hh:mm` in seconds.
    package static func utcOffset(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 6, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"), b[3] == UInt8(ascii: ":"),
            let h = Int64(String(decoding: b[1..<3], as: UTF8.self)), let m = Int64(String(decoding: b[4..<6], as: UTF8.self)),
            h < 24, m < 60
        else { return nil }
        return (h * 3600 + m * 60) * (b[0] == UInt8(ascii: "-") ? -1 : 1)
    }
}
