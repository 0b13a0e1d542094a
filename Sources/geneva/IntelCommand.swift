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
            try forEachFile(files) { file in
                guard let bytes = FileManager.default.contents(atPath: file) else { throw UnreadableFile(path: file) }
                let source = URL(fileURLWithPath: file).lastPathComponent
                let document = try IntelImporter.parse(Array(bytes), source: source)
                let summary = try db.importIntel(
                    source: source, format: document.format.rawValue, statements: document.records, skipped: document.skipped)
                var line = "\(file): imported \(summary.records) records (\(summary.newIndicators) new indicators, "
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
