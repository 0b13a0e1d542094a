import ArgumentParser
import Foundation
import Indicators
import Pipeline
import Reporting
import Storage
import TelemetryModel
import WireParsing

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan", abstract: "Scan capture files of a customer's sensor and store the sightings.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Customer the captures belong to.") var customer: String
    @Option(help: "Sensor name (unique per customer).") var sensor: String = "default"
    @Argument(help: "Capture files (classic pcap).") var files: [String]

    func run() throws {
        let db: GenevaStore
        let indicators: IndicatorSet
        do {
            db = try GenevaStore(path: store.path)
            guard try db.customer(id: customer) != nil else {
                throw fail("unknown customer id \(customer.debugDescription); import it first with `geneva customers import`")
            }
            indicators = try buildIndicatorSet(db)
        } catch let error as StorageError {
            throw fail(error.description)
        }
        if indicators.count == 0 { warn("no intel imported yet: nothing can be sighted (run `geneva intel import` first)") }
        try forEachFile(files) { file in
            let (summary, sightings) = try CaptureScanner.scan(path: file, customerID: customer, sensor: sensor, indicators: indicators)
            let record = GenevaStore.ScanRecord(
                customerID: customer, sensor: sensor, source: file, firstTime: summary.firstTime, lastTime: summary.lastTime,
                records: summary.records, observables: summary.observables, anomalies: summary.anomalies.counts)
            let inserted = try db.recordScan(record, sightings: sightings)
            var line = "\(file): \(summary.records) packets, \(summary.observables) observables, "
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
    @Argument(help: "Capture files.") var files: [String]

    func run() throws {
        try forEachFile(files) { file in
            var rows: [[String]] = []
            let summary = try CaptureScanner.observables(path: file) { o in
                switch format {
                case .ndjson:
                    print(ObservablesCommand.ndjson(o, source: file))
                case .table:
                    rows.append([o.time.rfc3339, o.evidence.rawValue, o.value, o.key, String(o.offset)])
                }
            }
            if format == .table {
                print(ReportRenderer.table(header: ["time", "evidence", "value", "flow", "offset"], rows: rows), terminator: "")
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

/// The matching snapshot of everything in the store, streamed entry by entry.
func buildIndicatorSet(_ db: GenevaStore) throws(StorageError) -> IndicatorSet {
    var builder = IndicatorSet.Builder()
    try db.forEachIndicatorEntry {
        builder.add(indicatorID: $0.indicatorID, kind: $0.kind, value: $0.value, validFrom: $0.validFrom, validUntil: $0.validUntil)
    }
    return builder.freeze()
}

/// Resident set size of this process (Linux `/proc/self/statm`), if known.
func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
