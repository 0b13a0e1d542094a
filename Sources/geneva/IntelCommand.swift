import ArgumentParser
import Foundation
import Storage
import ThreatIntel

struct IntelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intel", abstract: "Import threat intel.", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import intel files (CSV: kind,value[,actor,actor_country,campaign,valid_from,valid_until,confidence]).")

        @OptionGroup var store: StoreOptions
        @Argument(help: "Intel files; the format is detected by content.") var files: [String]

        func run() throws {
            let db: GenevaStore
            do { db = try GenevaStore(path: store.path) } catch { throw fail(error.description) }
            var failed = 0
            for file in files {
                guard let bytes = FileManager.default.contents(atPath: file) else {
                    warn("\(file): cannot be read")
                    failed += 1
                    continue
                }
                do {
                    let source = URL(fileURLWithPath: file).lastPathComponent
                    let document = try IntelImporter.parse(Array(bytes), source: source)
                    let statements = document.records.map {
                        GenevaStore.IntelStatement(
                            kind: $0.kind, value: $0.value, actor: $0.actor, actorCountry: $0.actorCountry, campaign: $0.campaign,
                            validFrom: $0.validFrom, validUntil: $0.validUntil, confidence: $0.confidence)
                    }
                    let summary = try db.importIntel(
                        source: source, format: document.format.rawValue, statements: statements, skipped: document.skipped)
                    var line = "\(file): imported \(summary.records) records (\(summary.newIndicators) new indicators, "
                        + "\(summary.actors) actors, \(summary.campaigns) campaigns)"
                    if document.skippedTotal > 0 { line += "; skipped \(document.skippedTotal): \(formatCounts(document.skipped))" }
                    print(line)
                    if summary.conflictingActorCountries > 0 {
                        warn("\(file): \(summary.conflictingActorCountries) rows name a different country for an actor already known; the stored country was kept")
                    }
                } catch let error as IntelImportError {
                    warn(error.description)
                    failed += 1
                } catch let error as StorageError {
                    warn("\(file): \(error.description)")
                    failed += 1
                }
            }
            if failed > 0 { throw ExitCode(1) }
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
                let db = try GenevaStore(path: store.path)
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
