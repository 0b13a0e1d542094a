import TelemetryModel

extension GenevaStore {
    /// Sightings in the window (`s`), each with every attribution valid at
    /// its time (`e`: intel campaign, else the clustered campaign `correlate`
    /// put it in; actor directly or through the intel campaign: a clustered
    /// campaign's actor never makes its sightings nation-state ones), and
    /// the nation-state ones (`ns`: actor with a country). Shared by the
    /// report and `sightings`, so both apply SPEC §4 the same way. Its
    /// arguments come first: since, until (`windowArguments`).
    static var attributedCTE: String { attributedCTE(filter: "") }

    /// `attributedCTE` over fewer sightings: `filter` is ANDed to the window
    /// condition on `sighting s` (the attributions of the remaining ones do
    /// not change); its arguments follow the window's.
    static func attributedCTE(filter: String) -> String {
        """
        WITH s AS (
            SELECT s.id, s.indicator_id, s.customer_id, s.sensor, s.time, c.country AS victim
            FROM sighting s JOIN customer c ON c.id = s.customer_id
            WHERE s.time >= ? AND s.time < ?\(filter)
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
        let arguments = Self.windowArguments(window)
        return try read { db in
            let cte = Self.attributedCTE
            let totalsRow = try db.row(cte + """
                SELECT COUNT(DISTINCT customer_id), COUNT(DISTINCT victim), COUNT(DISTINCT actor_id),
                       COUNT(DISTINCT campaign_id), COUNT(DISTINCT sid), MIN(time), MAX(time)
                FROM ns
                """, arguments)!
            let totals = NationStateReport.Totals(
                customers: try totalsRow.int(0), countries: try totalsRow.int(1), actors: try totalsRow.int(2),
                campaigns: try totalsRow.int(3), sightings: try totalsRow.int(4))
            let first = try totalsRow.optionalInt64(5)
            let last = try totalsRow.optionalInt64(6)

            var actorsByCountry: [String: [String]] = [:]
            for row in try db.rows(cte + "SELECT DISTINCT actor_country, actor, lower(actor) FROM ns ORDER BY lower(actor), actor", arguments) {
                actorsByCountry[try row.string(0), default: []].append(try row.string(1))
            }
            let byCountry = try db.rows(cte + """
                SELECT actor_country, COUNT(DISTINCT campaign_id), COUNT(DISTINCT customer_id), COUNT(DISTINCT victim)
                FROM ns GROUP BY actor_country
                ORDER BY COUNT(DISTINCT customer_id) DESC, actor_country
                """, arguments).compactMap { row -> NationStateReport.ActorCountryRow? in
                guard let country = CountryCode(try row.string(0)) else { return nil }
                return NationStateReport.ActorCountryRow(
                    country: country, actors: actorsByCountry[try row.string(0)] ?? [], campaigns: try row.int(1),
                    customers: try row.int(2), countries: try row.int(3))
            }

            let campaigns = try Self.campaignRows(db, window: window)

            let byVictim = try db.rows(cte + """
                SELECT victim, COUNT(DISTINCT customer_id) FROM ns GROUP BY victim
                ORDER BY COUNT(DISTINCT customer_id) DESC, victim
                """, arguments).compactMap { row -> NationStateReport.VictimCountryRow? in
                guard let country = CountryCode(try row.string(0)) else { return nil }
                return NationStateReport.VictimCountryRow(country: country, customers: try row.int(1))
            }
            // Weeks since 1970-01-05 (a Monday), floor division for times before it.
            let day: Int64 = 86_400_000_000_000
            let weeks = try db.rows(cte + """
                SELECT week, COUNT(DISTINCT sid) FROM (
                    SELECT sid, CAST((CASE WHEN time - \(4 * day) >= 0 THEN time - \(4 * day)
                                           ELSE time - \(4 * day) - \(7 * day - 1) END) / \(7 * day) AS BIGINT) AS week
                    FROM ns) AS weekly
                GROUP BY week ORDER BY week
                """, arguments).map { row in
                NationStateReport.WeekRow(weekStart: Timestamp(nanoseconds: try row.int64(0) * 7 * day + 4 * day), sightings: try row.int(1))
            }

            var report = NationStateReport(
                window: window, firstSighting: first.map(Timestamp.init(nanoseconds:)),
                lastSighting: last.map(Timestamp.init(nanoseconds:)), totals: totals, byActorCountry: byCountry,
                campaigns: campaigns, coverage: try Self.coverage(db, window: window))
            report.byVictimCountry = byVictim
            report.sightingsPerWeek = weeks
            return report
        }
    }

    /// Campaigns with sightings in the window (SPEC §6 rows), most customers
    /// first.
    static func campaignRows(_ db: any SQLSession, window: TimeWindow, actorCountry: String? = nil) throws -> [NationStateReport.CampaignRow] {
        let cte = Self.attributedCTE
        var arguments = Self.windowArguments(window)
        var filter = ""
        if let actorCountry {
            filter += " AND a.country = ?"
            arguments.append(.text(actorCountry))
        }
        var victimCountries: [Int64: [CountryCode]] = [:]
        for row in try db.rows(cte + """
            SELECT DISTINCT campaign_id, victim FROM e WHERE campaign_id IS NOT NULL ORDER BY victim
            """, Self.windowArguments(window)) {
            if let country = CountryCode(try row.string(1)) { victimCountries[try row.int64(0), default: []].append(country) }
        }
        return try db.rows(cte + """
            SELECT cp.id, cp.key, cp.name, cp.origin, a.name, a.country,
                   COUNT(DISTINCT e.customer_id), MIN(e.time), MAX(e.time), COUNT(DISTINCT e.indicator_id), COUNT(DISTINCT e.sid),
                   cp.confidence
            FROM e JOIN campaign cp ON cp.id = e.campaign_id
            LEFT JOIN actor a ON a.id = cp.actor_id
            WHERE 1 = 1\(filter)
            GROUP BY cp.id, cp.key, cp.name, cp.origin, a.id, a.name, a.country, cp.confidence
            ORDER BY COUNT(DISTINCT e.customer_id) DESC, MIN(e.time), cp.key
            """, arguments).map { row in
            var campaign = NationStateReport.CampaignRow(
                id: try row.string(1), name: try row.string(2), origin: CampaignOrigin(rawValue: try row.string(3)) ?? .intel,
                actor: try row.optionalString(4), actorCountry: try row.optionalString(5).flatMap(CountryCode.init), customers: try row.int(6),
                countries: victimCountries[try row.int64(0)] ?? [], firstSeen: Timestamp(nanoseconds: try row.int64(7)),
                lastSeen: Timestamp(nanoseconds: try row.int64(8)), indicators: try row.int(9), sightings: try row.int(10))
            campaign.confidence = try row.optionalInt(11)
            return campaign
        }
    }

    /// Sensors known, and those whose scanned data overlaps the window.
    static func coverage(_ db: any SQLSession, window: TimeWindow) throws -> NationStateReport.Coverage {
        let sensors = Int(try db.int64("SELECT COUNT(*) FROM sensor") ?? 0)
        let reporting = Int(try db.int64("""
            SELECT COUNT(*) FROM (
                SELECT DISTINCT customer_id, sensor FROM scan
                WHERE last_time IS NOT NULL AND last_time >= ? AND first_time < ?) AS reporting
            """, Self.windowArguments(window)) ?? 0)
        return .init(sensors: sensors, sensorsReporting: reporting, captureLossMax: nil)
    }

    /// The window's bounds as `attributedCTE` and `coverage` take them.
    static func windowArguments(_ window: TimeWindow) -> [SQLValue] {
        [.integer(window.since?.nanoseconds ?? Int64.min), .integer(window.until?.nanoseconds ?? Int64.max)]
    }
}
