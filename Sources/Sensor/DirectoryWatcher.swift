import Foundation
import Indicators
import Pipeline
import Storage
import TelemetryModel
import WireParsing

/// Scans the capture files (pcap, pcapng, gzip'd or not; mail logs too)
/// that appear in a directory, as `scan` would. A file is taken once its
/// size and modification time have not changed for `settle` seconds (a
/// writer such as `tcpdump -G`/`-C` is done with it); it is scanned again
/// only if it changes. What was scanned is recorded in the spool in the same
/// transaction as its sightings, so a restart does not scan it twice.
/// Hidden files (`.name`, a writer's temporary) are skipped.
package final class DirectoryWatcher {
    package let directory: String
    private let spool: Spool
    private let customer: String
    private let sensor: String
    private let settle: Double
    private var options: ScanOptions
    /// Size and mtime last seen per file, and since when unchanged.
    private var pending: [String: (size: Int64, modified: Int64, since: Double)] = [:]
    private var reportedMissing = false

    package private(set) var filesScanned = 0
    package private(set) var filesFailed = 0
    package private(set) var packets: Int64 = 0
    package private(set) var anomalies = AnomalyCounts()

    package init(directory: String, spool: Spool, customer: String, sensor: String, settle: Double, options: ScanOptions) {
        self.directory = directory
        self.spool = spool
        self.customer = customer
        self.sensor = sensor
        self.settle = settle
        self.options = options
    }

    package struct Step: Sendable {
        package var files = 0
        package var sightings = 0
        package var messages: [String] = []
    }

    /// Looks at the directory once; scans what has settled. `stop` is
    /// checked between files.
    package func step(_ intel: IntelHolder.Snapshot, now: Double = Date().timeIntervalSince1970, stop: () -> Bool = { false }) throws -> Step {
        var result = Step()
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
            reportedMissing = false
        } catch {
            if !reportedMissing { result.messages.append("\(directory): cannot be listed (\(error.localizedDescription)); waiting") }
            reportedMissing = true
            return result
        }
        var present = Set<String>()
        for name in names.sorted() where !name.hasPrefix(".") {
            if stop() { break }
            let path = directory + "/" + name
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            present.insert(path)
            // Nanoseconds, saturated: a file dated beyond 2262 must not trap.
            let (scaled, overflow) = Int64(st.st_mtim.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
            let size = Int64(st.st_size), modified = overflow ? (st.st_mtim.tv_sec < 0 ? Int64.min : Int64.max) : scaled &+ Int64(st.st_mtim.tv_nsec)
            if let done = try spool.scannedFile(path), done.size == size, done.modified == modified { continue }
            if let seen = pending[path], seen.size == size, seen.modified == modified {
                guard now - seen.since >= settle else { continue }
            } else {
                pending[path] = (size, modified, now)
                if settle > 0 { continue }
            }
            pending[path] = nil
            try scan(path, size: size, modified: modified, intel, &result, stop: stop)
        }
        for path in pending.keys where !present.contains(path) { pending[path] = nil }
        return result
    }

    private func scan(
        _ path: String, size: Int64, modified: Int64, _ intel: IntelHolder.Snapshot, _ result: inout Step, stop: () -> Bool
    ) throws {
        var options = self.options
        options.payload = intel.payload
        options.clock.reference = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        var uploads: [SightingUpload] = []
        let file = Spool.ScannedFile(path: path, size: size, modified: modified)
        do {
            // A stop request ends a long scan at its next 1 MiB read; nothing
            // of it is recorded, so the file is scanned again at the next start.
            let summary = try CaptureScanner.matches(path: path, indicators: intel.indicators, options: options, shouldStop: stop) { o, m in
                // Repeats (same identity) are ignored by the spool.
                uploads.append(SightingUpload(o, m, customer: customer, sensor: sensor, source: path))
            }
            var line = "\(path): \(summary.records) \(summary.recordNoun), \(summary.observables) observables, \(uploads.count) sightings"
            if !summary.anomalies.isEmpty { line += "; anomalies: " + formatCounts(summary.anomalies.counts) }
            try spool.append(uploads, scanned: (file, line))
            filesScanned += 1
            if summary.kind == InputKind.pcap { packets += Int64(summary.records) }
            anomalies.merge(summary.anomalies)
            result.files += 1
            result.sightings += uploads.count
            result.messages.append(line)
        } catch is ScanStopped {
            result.messages.append("\(path): scan abandoned (stopping); it is scanned again at the next start")
        } catch let error as ScanError {
            // Not retried until the file changes; counted and logged.
            filesFailed += 1
            try spool.append([], scanned: (file, "error: \(error.reason)"))
            result.messages.append("\(path): skipped: \(error.reason)")
        }
    }
}
