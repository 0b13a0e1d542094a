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
        func positive(_ key: String, _ fallback: Double) -> Double {
            guard let v = c.double(forKey: ConfigKey(key)) ?? c.int(forKey: ConfigKey(key)).map(Double.init) else { return fallback }
            if v <= 0 { problems.append("\(key): must be positive") }
            return v
        }
        customer = required("customer")
        sensor = c.string(forKey: "sensor") ?? ProcessInfo.processInfo.hostName
        stateDirectory = c.string(forKey: "state_directory") ?? "/var/lib/geneva-sensor"
        intelFiles = c.stringArray(forKey: "intel.files") ?? []
        if intelFiles.isEmpty { problems.append("intel.files: no intel file given: nothing could be sighted") }
        intelPollSeconds = positive("intel.poll_seconds", 5)
        payload = c.bool(forKey: "payload") ?? true
        interfaces = c.stringArray(forKey: "capture.interfaces") ?? []
        capture.filter = c.string(forKey: "capture.filter") ?? ""
        if let v = c.int(forKey: "capture.snaplen") {
            if !(64...262_144).contains(v) { problems.append("capture.snaplen: must be 64…262144") }
            capture.snaplen = Int32(clamping: v)
        }
        capture.promiscuous = c.bool(forKey: "capture.promiscuous") ?? true
        if let v = c.int(forKey: "capture.buffer_bytes") {
            if !(65_536...(1 << 30)).contains(v) { problems.append("capture.buffer_bytes: must be 64 KiB…1 GiB") }
            capture.bufferBytes = Int32(clamping: v)
        }
        capture.immediate = c.bool(forKey: "capture.immediate") ?? false
        if let v = c.int(forKey: "capture.timeout_milliseconds") {
            if !(1...10_000).contains(v) { problems.append("capture.timeout_milliseconds: must be 1…10000") }
            capture.timeoutMilliseconds = Int32(clamping: v)
        }
        watchDirectories = c.stringArray(forKey: "watch.directories") ?? []
        watchSettleSeconds = c.double(forKey: "watch.settle_seconds") ?? c.int(forKey: "watch.settle_seconds").map(Double.init) ?? 2
        if watchSettleSeconds < 0 { problems.append("watch.settle_seconds: must not be negative") }
        watchPollSeconds = positive("watch.poll_seconds", 2)
        logFiles = c.stringArray(forKey: "logs.files") ?? []
        logsPollMilliseconds = Int(positive("logs.poll_milliseconds", 250))
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
        upstreamBatch = Int(positive("upstream.batch", 1000))
        upstreamMaxBackoffSeconds = positive("upstream.max_backoff_seconds", 30)
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
