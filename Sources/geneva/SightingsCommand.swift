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
        let rows: [GenevaStore.SightingRow]
        do {
            rows = try GenevaStore(path: store.path).sightings(window: window, customerID: customer, campaignID: campaign)
        } catch {
            throw fail(error.description)
        }
        switch format {
        case .ndjson:
            for row in rows { print(SightingsCommand.json(row).serialized()) }
        case .json:
            print(JSONValue.array(rows.map(SightingsCommand.json)).serialized(pretty: true))
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

    /// One sighting as JSON; `nation_state` per SPEC §4, so that the report's
    /// totals follow from these lines alone.
    static func json(_ r: GenevaStore.SightingRow) -> JSONValue {
        .object([
            ("time", .string(r.time.rfc3339)), ("customer", .string(r.customerID)),
            ("customer_country", r.customerCountry.map { .string($0.code) } ?? .null),
            ("sensor", .string(r.sensor)), ("evidence", .string(r.evidence)),
            (r.evidence.hasPrefix("maillog") ? "message" : "flow", .string(r.key)),
            ("source", .string(r.source)), ("offset", .int(Int(r.offset))), ("observed", .string(r.observed)),
            ("indicator", .object([("kind", .string(r.indicatorKind)), ("value", .string(r.indicatorValue))])),
            ("attributions", .array(r.attributions.map { a in
                .object([
                    ("actor", a.actor.map(JSONValue.string) ?? .null),
                    ("actor_country", a.actorCountry.map { .string($0.code) } ?? .null),
                    ("campaign", a.campaignID.map(JSONValue.string) ?? .null),
                    ("campaign_name", a.campaignName.map(JSONValue.string) ?? .null),
                ])
            })),
            ("nation_state", .bool(r.nationState)),
        ])
    }
}
