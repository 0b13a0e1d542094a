import ArgumentParser
import Correlation
import Reporting
import Storage
import TelemetryModel
import WireParsing

/// Re-clustering after `scan` or `intel import` changed the store: prints
/// what `rebuild` did (nil: nothing needed), and a failure is a warning, not
/// the command's error (the data itself was stored).
func recorrelate(_ rebuild: () throws(StorageError) -> CorrelationSummary?) {
    do {
        if let c = try rebuild() {
            print("correlated: \(c.campaigns) clustered campaign\(c.campaigns == 1 ? "" : "s") from \(c.sightings) sighting\(c.sightings == 1 ? "" : "s") without an intel campaign")
        }
    } catch {
        warn("correlation failed (run `geneva correlate`): \(error.description)")
    }
}

struct CorrelateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "correlate",
        abstract: "Rebuild the clustered campaigns from the stored sightings (SPEC §4).",
        discussion: """
            Sightings of indicators without an intel campaign are linked when one DNS message named both, \
            when they are sightings of one indicator, when their indicators share an intel report, or when \
            they hit one customer within --customer-window; no link spans more than --split-gap. An indicator \
            seen at more than --correlation-limit customers links nothing else. The parameters are kept in \
            the database and reused by `scan`.
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: ArgumentHelp("Same-customer link window (e.g. 24h, 90m, 2d). Default: the stored value, else 24h.", valueName: "duration"))
    var customerWindow: String?
    @Option(help: ArgumentHelp("No link spans a longer quiet period (default: stored, else 30d).", valueName: "duration"))
    var splitGap: String?
    @Option(help: "Indicators seen at more customers than this link nothing else (default: stored, else 10).")
    var correlationLimit: Int?

    func run() throws {
        do {
            let db = try store.open()
            var p = try db.correlationParameters()
            if let customerWindow { p.customerWindow = try duration(customerWindow, option: "--customer-window") }
            if let splitGap { p.splitGap = try duration(splitGap, option: "--split-gap") }
            if let correlationLimit {
                guard correlationLimit >= 0 else { throw fail("--correlation-limit must not be negative") }
                p.correlationLimit = correlationLimit
            }
            let c = try db.correlate(parameters: p)
            print("\(c.sightings) sightings without an intel campaign → \(c.campaigns) clustered campaigns (\(c.attributed) attributed); "
                + "\(c.popularIndicators) indicators over the correlation limit")
        } catch let error as StorageError {
            throw fail(error.description)
        }
    }

    /// `90s`, `45m`, `24h`, `30d` as nanoseconds.
    func duration(_ text: String, option: String) throws -> Int64 {
        let units: [Character: Int64] = ["s": 1_000_000_000, "m": 60_000_000_000, "h": Clusterer.Parameters.hour, "d": 24 * Clusterer.Parameters.hour]
        guard let unit = text.last.flatMap({ units[$0] }), let n = Int64(text.dropLast()), n >= 0, n <= 100_000 else {
            throw fail("\(option) \(text.prefix(20).debugDescription): not a duration (e.g. 90m, 24h, 30d)")
        }
        return n * unit
    }
}

struct CampaignsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaigns", abstract: "Campaigns (intel and clustered) with sightings in the window.")

    enum Format: String, ExpressibleByArgument { case table, json }

    @OptionGroup var store: StoreOptions
    @Option(help: "Only campaigns whose actor works for this country (ISO alpha-2).") var actorCountry: String?
    @OptionGroup var windowOptions: WindowOptions
    @Option(help: "table or json.") var format: Format = .table

    func run() throws {
        let window = try windowOptions.window()
        var country: CountryCode? = nil
        if let actorCountry {
            guard let c = CountryCode(actorCountry.uppercased()) else {
                throw fail("--actor-country \(actorCountry.prefix(10).debugDescription): not an ISO 3166-1 alpha-2 code")
            }
            country = c
        }
        let rows: [NationStateReport.CampaignRow]
        do {
            rows = try store.open().campaigns(window: window, actorCountry: country)
        } catch {
            throw fail(error.description)
        }
        switch format {
        case .json: print(JSONValue.array(rows.map(ReportRenderer.campaignJSON)).serialized(pretty: true))
        case .table: print(ReportRenderer.campaignTable(rows), terminator: "")
        }
    }
}

struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign", abstract: "One campaign with its evidence: every sighting and why it is in the campaign.")

    enum Format: String, ExpressibleByArgument { case text, json }

    @OptionGroup var store: StoreOptions
    @Argument(help: "The campaign id, as `geneva campaigns` lists it.") var id: String
    @OptionGroup var windowOptions: WindowOptions
    @Option(help: "text or json.") var format: Format = .text

    func run() throws {
        let window = try windowOptions.window()
        let found: CampaignDetail?
        do {
            found = try store.open().campaign(id: id, window: window)
        } catch {
            throw fail(error.description)
        }
        guard let detail = found else {
            throw fail("no campaign \(id.prefix(80).debugDescription) with sightings in the window (see `geneva campaigns`)")
        }
        let c = detail.campaign
        switch format {
        case .json:
            let campaign = ReportRenderer.campaignEvidenceJSON(c, evidence: detail.evidence.map { ($0.sighting, $0.reason, $0.via, $0.why) })
            print(campaign.serialized(pretty: true))
        case .text:
            var out = "\(c.id)  \(c.name)\n"
            out += "origin: \(c.origin.rawValue); actor: \(c.actor ?? "unattributed")"
                + (c.actorCountry.map { " (\($0.code))" } ?? "") + (c.confidence.map { ", confidence \($0)%" } ?? "") + "\n"
            out += "seen \(c.firstSeen.rfc3339) – \(c.lastSeen.rfc3339): \(c.customers) customers in "
                + "\(c.countries.map(\.code).joined(separator: " ")), \(c.indicators) indicators, \(c.sightings) sightings\n\n"
            out += ReportRenderer.table(
                header: ["sighting", "time", "customer", "evidence", "flow/message", "indicator", "why"],
                rows: detail.evidence.map { e in
                    let s = e.sighting
                    return [String(s.id), s.time.rfc3339, s.customerID, s.evidence, s.key, "\(s.indicatorKind):\(s.indicatorValue)", e.why]
                })
            print(out, terminator: "")
        }
    }
}
