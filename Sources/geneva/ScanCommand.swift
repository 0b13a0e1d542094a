import ArgumentParser
import Foundation
import Indicators
import MailLogs
import Pipeline
import Reporting
import Sensor
import Storage
import TelemetryModel
import WireParsing

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan", abstract: "Scan capture files of a customer's sensor and store the sightings.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Customer the captures belong to.") var customer: String
    @Option(help: "Sensor name (unique per customer).") var sensor: String = "default"
    @OptionGroup var logOptions: LogReadingOptions
    @Flag(inversion: .prefixedNo, help: "Also match indicator values anywhere in reassembled TCP payload (whole tokens only; SPEC §3).")
    var payload = true
    @Argument(help: "Capture files (classic pcap) and mail logs (Postfix, Exim, Sendmail, Exchange); detected by content.")
    var files: [String]

    func run() throws {
        var options = try logOptions.scanOptions()
        let db: any GenevaStore
        let indicators: IndicatorSet
        do {
            db = try store.open()
            guard try db.customer(id: customer) != nil else {
                throw fail("unknown customer id \(customer.debugDescription); import it first with `geneva customers import`")
            }
            indicators = try buildIndicatorSet(db)
        } catch let error as StorageError {
            throw fail(error.description)
        }
        if indicators.count == 0 { warn("no intel imported yet: nothing can be sighted (run `geneva intel import` first)") }
        if payload && indicators.count > 0 {
            // Compiled when the first capture turns up: mail logs do not need it.
            options.payloadOnDemand = PayloadOnDemand(indicators)
        }
        // Clustered campaigns follow the stored sightings (SPEC §4), also when
        // some file failed: what was stored is correlated.
        // Also when this scan added nothing: an earlier scan killed before its
        // correlation is caught up here (the check is one indexed query).
        defer { recorrelate { () throws(StorageError) in try db.correlateIfNeeded() } }
        try forEachFile(files) { file in
            let meter = ProgressMeter(label: file)
            let (summary, sightings) = try CaptureScanner.scan(
                path: file, customerID: customer, sensor: sensor, indicators: indicators, options: options,
                progress: meter.map { m in { m.update($0, of: $1) } })
            meter?.clear()
            let record = ScanRecord(
                customerID: customer, sensor: sensor, source: file, firstTime: summary.firstTime, lastTime: summary.lastTime,
                records: summary.records, observables: summary.observables, anomalies: summary.anomalies.counts)
            let inserted = try db.recordScan(record, sightings: sightings)
            var line = "\(file): \(summary.records) \(summary.recordNoun), \(summary.observables) observables, "
                + "\(sightings.count) sighting\(sightings.count == 1 ? "" : "s") (\(inserted) new)"
            if !summary.anomalies.isEmpty { line += "; anomalies: \(formatCounts(summary.anomalies.counts))" }
            print(line)
        }
    }
}

struct ObservablesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observables", abstract: "Print every observable the decoders extract (no matching, no database).")

    enum Format: String, ExpressibleByArgument { case table, ndjson }

    @Option(help: "table or ndjson.") var format: Format = .table
    @OptionGroup var logOptions: LogReadingOptions
    @Argument(help: "Capture files and mail logs.") var files: [String]

    func run() throws {
        let options = try logOptions.scanOptions()
        try forEachFile(files) { file in
            var rows: [[String]] = []
            let summary = try CaptureScanner.observables(path: file, options: options) { o in
                switch format {
                case .ndjson:
                    print(ObservablesCommand.ndjson(o, source: file))
                case .table:
                    rows.append([o.time.rfc3339, o.evidence.rawValue, o.value, o.key, String(o.offset)])
                }
            }
            if format == .table {
                print(ReportRenderer.table(header: ["time", "evidence", "value", "flow/message", "offset/line"], rows: rows), terminator: "")
            }
            if !summary.anomalies.isEmpty { warn("\(file): anomalies: \(formatCounts(summary.anomalies.counts))") }
        }
    }

    static func ndjson(_ o: Observable, source: String) -> String {
        JSONValue.object([
            ("source", .string(source)), ("time", .string(o.time.rfc3339)), ("evidence", .string(o.evidence.rawValue)),
            ("value", .string(o.value)), (o.evidence.rawValue.hasPrefix("maillog") ? "message" : "flow", .string(o.key)),
            ("offset", .int(Int(o.offset))),
        ]).serialized()
    }
}

/// Resident set size of this process (Linux `/proc/self/statm`), if known.
func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// How mail-log timestamps are read (`scan`, `observables`).
struct LogReadingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Date the logs were read as of (RFC 3339 or YYYY-MM-DD): syslog stamps without a year are placed in the 12 months up to it. Default: now.",
        valueName: "date"))
    var logReference: String?

    @Option(help: ArgumentHelp("UTC offset of log stamps without a zone (RFC 3164 syslog, Exim), e.g. +02:00. Default: +00:00.", valueName: "offset"))
    var logUtcOffset: String?

    @Option(help: ArgumentHelp("Threads a scan may use: a mail log's lines are parsed on a second one. Default: the machine's cores, at most 2.", valueName: "n"))
    var threads: Int?

    func scanOptions() throws -> ScanOptions {
        var options = ScanOptions.standard
        if let threads {
            guard (1...64).contains(threads) else { throw fail("--threads \(threads): expected 1 to 64") }
            options.threads = threads
        }
        if let text = logReference {
            guard let t = Timestamp(parsing: text) else { throw fail("--log-reference \(text.prefix(40).debugDescription): not a date") }
            options.clock.reference = t
        }
        if let text = logUtcOffset {
            guard let seconds = SensorSettings.utcOffset(text) else { throw fail("--log-utc-offset \(text.prefix(40).debugDescription): expected ±hh:mm") }
            options.clock.utcOffsetSeconds = seconds
        }
        return options
    }
}

/// Progress of a long scan on a terminal (bytes, rate, ETA), redrawn at most
/// twice a second on stderr; `nil` when stderr is not a terminal (SPEC §5).
final class ProgressMeter {
    let label: String
    let start = Date()
    var lastDraw = Date.distantPast

    init?(label: String) {
        guard isatty(STDERR_FILENO) != 0 else { return nil }
        self.label = label
    }

    func update(_ done: Int64, of total: Int64) {
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.5 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        var line = "\(label): \(Self.megabytes(done))"
        if total > 0 {
            line += " of \(Self.megabytes(total)) (\(Int(Double(done) * 100 / Double(total)))%)"
        }
        line += ", \(Self.megabytes(Int64(rate)))/s"
        if total > done, rate > 0 { line += ", ETA \(Int((Double(total - done) / rate).rounded(.up))) s" }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    func clear() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }
}
