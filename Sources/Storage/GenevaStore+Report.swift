import GRDB
import TelemetryModel

extension GenevaStore {
    /// Sightings in the window (`s`), each with every attribution valid at
    /// its time (`e`: intel campaign, else the clustered campaign `correlate`
    /// put it in; actor directly or through the intel campaign: a clustered
    /// campaign's actor never makes its sightings nation-state ones), and
    /// the nation-state ones (`ns`: actor with a country). Shared by the
    /// report and `sightings`, so both apply SPEC §4 the same way.
    static let attributedCTE = attributedCTE(filter: "")

    /// `attributedCTE` over fewer sightings: `filter` is ANDed to the window
    /// condition on `sighting s` (the attributions of the remaining ones do
    /// not change).
    static func attributedCTE(filter: String) -> String {
        """
        WITH s AS (
            SELECT s.id, s.indicator_id, s.customer_id, s.sensor, s.time, c.country AS victim
            FROM sighting s JOIN customer c ON c.id = s.customer_id
            WHERE s.time >= :since AND s.time < :until\(filter)
        ),
        e AS (
            SELECT DISTINCT s.id AS sid, s.indicator_id, s.customer_id, s.time, s.victim,
                   COALESCE(e.campaign_id, cs.campaign_id) AS campaign_id, COALESCE(e.actor_id, cp.actor_id) AS actor_id
            FROM s
            JOIN intel_entry e ON e.indicator_id = s.indicator_id
                AND e.valid_from <= s.time AND (e.valid_until IS NULL OR s.time < e.valid_until)
            LEFT JOIN campaign cp ON cp.id = e.campaign_id
            LEFT JOIN cluster_sighting cs ON cs.sighting_id = s.id
        ),
        ns AS (
            SELECT e.*, a.name AS actor, a.country AS actor_country
            FROM e JOIN actor a ON a.id = e.actor_id
            WHERE a.country IS NOT NULL
        )
        """
    }

    /// Counts per SPEC §4 for `window`: one pass over the window's sightings
    /// (`ReportScan`).
    package func nationStateReport(window: TimeWindow) throws(StorageError) -> NationStateReport {
        let (scan, tally, coverage) = try reportScan(window: window)
        return scan.report(tally, window: window, coverage: coverage)
    }

    /// The same counts straight from `attributedCTE` in SQL: the definition,
    /// kept as the oracle the one-pass version is tested against (it takes
    /// minutes at millions of sightings).
    package func nationStateReportSQL(window: TimeWindow) throws(StorageError) -> NationStateReport {
        let arguments = GenevaStore.windowArguments(window)
        return try read { db in
            let cte = GenevaStore.attributedCTE
            let totalsRow = try Row.fetchOne(db, sql: cte + """
                SELECT COUNT(DISTINCT customer_id), COUNT(DISTINCT victim), COUNT(DISTINCT actor_id),
                       COUNT(DISTINCT campaign_id), COUNT(DISTINCT sid), MIN(time), MAX(time)
                FROM ns
                """, arguments: arguments)!
            let totals = NationStateReport.Totals(
                customers: totalsRow[0], countries: totalsRow[1], actors: totalsRow[2], campaigns: totalsRow[3], sightings: totalsRow[4])
            let first: Int64? = totalsRow[5]
            let last: Int64? = totalsRow[6]

            var actorsByCountry: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: cte + "SELECT DISTINCT actor_country, actor FROM ns ORDER BY actor", arguments: arguments) {
                actorsByCountry[row[0], default: []].append(row[1])
            }
            let byCountry = try Row.fetchAll(db, sql: cte + """
                SELECT actor_country, COUNT(DISTINCT campaign_id), COUNT(DISTINCT customer_id), COUNT(DISTINCT victim)
                FROM ns GROUP BY actor_country
                ORDER BY COUNT(DISTINCT customer_id) DESC, actor_country
                """, arguments: arguments).compactMap { row -> NationStateReport.ActorCountryRow? in
                guard let country = CountryCode(row[0] as String) else { return nil }
                return NationStateReport.ActorCountryRow(
                    country: country, actors: actorsByCountry[row[0]] ?? [], campaigns: row[1], customers: row[2], countries: row[3])
            }

            let campaigns = try GenevaStore.campaignRows(db, arguments: arguments)


            let byVictim = try Row.fetchAll(db, sql: cte + """
                SELECT victim, COUNT(DISTINCT customer_id) FROM ns GROUP BY victim
                ORDER BY COUNT(DISTINCT customer_id) DESC, victim
                """, arguments: arguments).compactMap { row -> NationStateReport.VictimCountryRow? in
                CountryCode(row[0] as String).map { NationStateReport.VictimCountryRow(country: $0, customers: row[1]) }
            }
            // Weeks since 1970-01-05 (a Monday), floor division for times before it.
            let day: Int64 = 86_400_000_000_000
            let weeks = try Row.fetchAll(db, sql: cte + """
                SELECT week, COUNT(DISTINCT sid) FROM (
                    SELECT sid, CAST((CASE WHEN time - \(4 * day) >= 0 THEN time - \(4 * day)
                                           ELSE time - \(4 * day) - \(7 * day - 1) END) / \(7 * day) AS INTEGER) AS week
                    FROM ns)
                GROUP BY week ORDER BY week
                """, arguments: arguments).map { row in
                NationStateReport.WeekRow(weekStart: Timestamp(nanoseconds: (row[0] as Int64) * 7 * day + 4 * day), sightings: row[1])
            }

            var report = NationStateReport(
                window: window, firstSighting: first.map(Timestamp.init(nanoseconds:)),
                lastSighting: last.map(Timestamp.init(nanoseconds:)), totals: totals, byActorCountry: byCountry,
                campaigns: campaigns, coverage: try GenevaStore.coverage(db, arguments: arguments))
            report.byVictimCountry = byVictim
            report.sightingsPerWeek = weeks
            return report
        }
    }

    /// Campaigns with sightings in the window (SPEC §6 rows), most customers
    /// first; `arguments` holds `since` and `until`.
    static func campaignRows(_ db: Database, arguments: StatementArguments, actorCountry: String? = nil) throws -> [NationStateReport.CampaignRow] {
        let cte = GenevaStore.attributedCTE
        var arguments = arguments
        var filter = ""
        if let actorCountry {
            filter += " AND a.country = :actorCountry"
            _ = arguments.append(contentsOf: ["actorCountry": actorCountry])
        }
        var victimCountries: [Int64: [CountryCode]] = [:]
        for row in try Row.fetchAll(db, sql: cte + """
            SELECT DISTINCT campaign_id, victim FROM e WHERE campaign_id IS NOT NULL ORDER BY victim
            """, arguments: arguments) {
            if let country = CountryCode(row[1] as String) { victimCountries[row[0], default: []].append(country) }
        }
        return try Row.fetchAll(db, sql: cte + """
            SELECT cp.id, cp.key, cp.name, cp.origin, a.name, a.country,
                   COUNT(DISTINCT e.customer_id), MIN(e.time), MAX(e.time), COUNT(DISTINCT e.indicator_id), COUNT(DISTINCT e.sid),
                   cp.confidence
            FROM e JOIN campaign cp ON cp.id = e.campaign_id
            LEFT JOIN actor a ON a.id = cp.actor_id
            WHERE 1\(filter)
            GROUP BY cp.id
            ORDER BY COUNT(DISTINCT e.customer_id) DESC, MIN(e.time), cp.key
            """, arguments: arguments).map { row in
            let countryText: String? = row[5]
            var campaign = NationStateReport.CampaignRow(
                id: row[1], name: row[2], origin: CampaignOrigin(rawValue: row[3]) ?? .intel, actor: row[4],
                actorCountry: countryText.flatMap(CountryCode.init), customers: row[6],
                countries: victimCountries[row[0]] ?? [], firstSeen: Timestamp(nanoseconds: row[7]),
                lastSeen: Timestamp(nanoseconds: row[8]), indicators: row[9], sightings: row[10])
            campaign.confidence = row[11]
            return campaign
        }
    }

    /// Sensors known, and those whose scanned data overlaps the window.
    static func coverage(_ db: Database, arguments: StatementArguments) throws -> NationStateReport.Coverage {
        let sensors = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sensor") ?? 0
        let reporting = try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM (
                SELECT DISTINCT customer_id, sensor FROM scan
                WHERE last_time IS NOT NULL AND last_time >= :since AND first_time < :until)
            """, arguments: arguments) ?? 0
        return .init(sensors: sensors, sensorsReporting: reporting, captureLossMax: nil)
    }
}
