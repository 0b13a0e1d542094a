import ArgumentParser
import Foundation
import Storage
import ThreatIntel
import Indicators
import Reporting
import Sensor
import WireParsing

struct IntelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intel", abstract: "Import threat intel and see what is known.", subcommands: [Import.self, Stats.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import intel: STIX 2.1 (bundle or JSON Lines), MISP event / feed directory / galaxy, Zeek intel, CSV.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "Intel files or MISP feed directories; the format is detected by content.") var files: [String]

        func run() throws {
            let db: any GenevaStore
            do { db = try store.open() } catch { throw fail(error.description) }
            // New intel changes which sightings have an intel campaign and which
            // actors clustered campaigns point to: rebuild them when there are
            // sightings (also when some file failed: what was imported counts).
            defer { recorrelate { () throws(StorageError) in try db.hasSightings() ? try db.correlate() : nil } }
            try forEachFile(files) { file in
                let document = try IntelImporter.load(path: file)
                let summary = try db.importIntel(
                    source: document.source, format: document.format.rawValue, statements: document.records,
                    actors: document.actors, campaigns: document.campaigns, skipped: document.skipped)
                var line = "\(file): \(document.format.rawValue): imported \(summary.records) records (\(summary.newIndicators) new indicators, "
                    + "\(summary.actors) actors, \(summary.campaigns) campaigns)"
                if document.skippedTotal > 0 { line += "; skipped \(document.skippedTotal): \(formatCounts(document.skipped))" }
                print(line)
                if summary.conflictingActorCountries > 0 {
                    warn("\(file): \(summary.conflictingActorCountries) rows name a different country for an actor already known; the stored country was kept")
                }
            }
        }
    }
}

extension IntelCommand {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Indicators by kind, actors (with country), campaigns, sources, skipped records by reason.")

        enum Format: String, ExpressibleByArgument { case table, json }

        @OptionGroup var store: StoreOptions
        @Option(help: "table or json.") var format: Format = .table
        @Flag(help: "Also build the matching snapshot (IndicatorSet) a scan or sensor would use and report its size.")
        var snapshot = false

        func run() throws {
            let stats: IntelStats
            var snapshotFigures: JSONValue? = nil
            do {
                let db = try store.open()
                stats = try db.intelStats()
                if snapshot {
                    let before = residentBytes()
                    let set = try buildIndicatorSet(db)
                    let after = residentBytes()
                    snapshotFigures = .object([
                        ("indicators", .int(set.count)), ("bytes", .int(set.memoryUsage)),
                        ("resident_growth_bytes", after.map { .int(max(0, $0 - (before ?? 0))) } ?? .null),
                    ])
                }
            } catch {
                throw fail(error.description)
            }
            switch format {
            case .json:
                var json = Stats.json(stats)
                if let snapshotFigures, case .object(var members) = json {
                    members.append(("snapshot", snapshotFigures))
                    json = .object(members)
                }
                print(json.serialized(pretty: true))
            case .table:
                print(Stats.text(stats), terminator: "")
                if let s = snapshotFigures {
                    print("\nSnapshot: \(s["indicators"]?.int ?? 0) indicators in \(s["bytes"]?.int ?? 0) bytes "
                        + "(resident growth \(s["resident_growth_bytes"]?.int.map(String.init) ?? "unknown") bytes)")
                }
            }
        }

        static func counts(_ d: [String: Int]) -> JSONValue {
            .object(d.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })
        }

        static func json(_ s: IntelStats) -> JSONValue {
            .object([
                ("indicators", .object([
                    ("total", .int(s.indicators)),
                    ("by_kind", counts(Dictionary(uniqueKeysWithValues: s.indicatorsByKind.map { ($0.key.rawValue, $0.value) }))),
                ])),
                ("actors", .object([
                    ("total", .int(s.actors)), ("with_country", .int(s.actorsWithCountry)), ("by_country", counts(s.actorsByCountry)),
                ])),
                ("campaigns", .int(s.campaigns)),
                ("sources", counts(s.sources)),
                ("skipped", counts(s.skipped)),
            ])
        }

        static func text(_ s: IntelStats) -> String {
            var out = "Indicators: \(s.indicators)\n"
            out += ReportRenderer.table(header: ["kind", "indicators"], rows: s.indicatorsByKind.sorted { $0.key < $1.key }.map { [$0.key.rawValue, "\($0.value)"] })
            out += "\nActors: \(s.actors), \(s.actorsWithCountry) with a country\n"
            out += ReportRenderer.table(header: ["country", "actors"], rows: s.actorsByCountry.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { [$0.key, "\($0.value)"] })
            out += "\nCampaigns: \(s.campaigns)\n\nSources\n"
            out += ReportRenderer.table(header: ["source", "indicators"], rows: s.sources.sorted { $0.key < $1.key }.map { [$0.key, "\($0.value)"] })
            if !s.skipped.isEmpty {
                out += "\nSkipped\n"
                out += ReportRenderer.table(header: ["reason", "records"], rows: s.skipped.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { [$0.key, "\($0.value)"] })
            }
            return out
        }
    }
}

struct CustomersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customers", abstract: "Manage customers.", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import customers (CSV: id,name,country[,sector]).")

        @OptionGroup var store: StoreOptions
        @Argument(help: "Customers CSV file.") var file: String

        func run() throws {
            guard let bytes = FileManager.default.contents(atPath: file) else { throw fail("\(file): cannot be read") }
            do {
                let parsed = try CustomerCSVParser.parse(Array(bytes), source: file)
                let db = try store.open()
                let summary = try db.importCustomers(parsed.customers)
                var line = "\(file): \(summary.inserted) customers added, \(summary.updated) updated"
                let skipped = parsed.skipped.values.reduce(0, +)
                if skipped > 0 { line += "; skipped \(skipped): \(formatCounts(parsed.skipped))" }
                print(line)
            } catch let error as IntelImportError {
                throw fail(error.description)
            } catch let error as StorageError {
                throw fail(error.description)
            }
        }
    }
}
