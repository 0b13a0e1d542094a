import ArgumentParser
import Reporting
import Storage
import TelemetryModel
import WireParsing

struct SightingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sightings",
        abstract: "Stored sightings with their indicator, victim country and attributions (the evidence behind the report).")

    enum Format: String, ExpressibleByArgument { case table, json, ndjson }

    @OptionGroup var store: StoreOptions
    @Option(help: "Only this customer's sightings.") var customer: String?
    @Option(help: "Only sightings attributed to this campaign (its id, as `geneva report` lists it).") var campaign: String?
    @OptionGroup var windowOptions: WindowOptions
    @Option(help: "table, json (one array) or ndjson (one object per line).") var format: Format = .table

    func run() throws {
        let window = try windowOptions.window()
        if format == .ndjson && customer == nil && campaign == nil {
            // Every sighting of the window, streamed (millions do not sit in memory).
            let sink = try OutputSink(path: nil)
            do {
                try store.open().forEachSighting(window: window) { sink.write(SightingExport.json($0).serialized() + "\n") }
                try sink.finish()
            } catch {
                throw fail("\(error)")
            }
            return
        }
        let rows: [SightingRow]
        do {
            rows = try store.open().sightings(window: window, customerID: customer, campaignID: campaign)
        } catch {
            throw fail(error.description)
        }
        switch format {
        case .ndjson:
            for row in rows { print(SightingExport.json(row).serialized()) }
        case .json:
            print(JSONValue.array(rows.map(SightingExport.json)).serialized(pretty: true))
        case .table:
            print(ReportRenderer.table(
                header: ["time", "customer", "country", "evidence", "observed", "indicator", "actor", "campaign"],
                rows: rows.map { r in
                    [r.time.rfc3339, r.customerID, r.customerCountry?.code ?? "-", r.evidence, r.observed,
                     "\(r.indicatorKind):\(r.indicatorValue)",
                     r.attributions.compactMap { a in a.actor.map { $0 + (a.actorCountry.map { " (\($0.code))" } ?? "") } }.joined(separator: ", "),
                     r.attributions.compactMap(\.campaignID).joined(separator: ", ")]
                }), terminator: "")
        }
    }
}
