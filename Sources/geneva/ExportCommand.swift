import ArgumentParser
import Foundation
import Reporting
import Storage
import TelemetryModel
import WireParsing

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the sightings in the window: a STIX 2.1 bundle of sighting objects, MISP sightings JSON, or NDJSON.")

    enum Format: String, ExpressibleByArgument { case stix, misp, ndjson }

    @OptionGroup var store: StoreOptions
    @Option(help: "stix (2.1 bundle), misp (sightings JSON) or ndjson (as `geneva sightings --format ndjson`).") var format: Format
    @OptionGroup var windowOptions: WindowOptions
    @Option(help: "Write to this file (atomically) instead of stdout.") var output: String?

    func run() throws {
        let window = try windowOptions.window()
        let text: String
        do {
            let db = try GenevaStore(path: store.path)
            let rows = try db.sightings(window: window)
            switch format {
            case .ndjson:
                text = rows.map { SightingExport.json($0).serialized() + "\n" }.joined()
            case .misp:
                text = SightingExport.misp(rows).serialized(pretty: true) + "\n"
            case .stix:
                text = SightingExport.stixBundle(rows, customers: try db.customerNames(), validFrom: try db.indicatorValidFrom())
                    .serialized(pretty: true) + "\n"
            }
        } catch {
            throw fail(error.description)
        }
        if let output {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw fail("\(output): cannot write export: \(error.localizedDescription)")
            }
        } else {
            print(text, terminator: "")
        }
    }
}
