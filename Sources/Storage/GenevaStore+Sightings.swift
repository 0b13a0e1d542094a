import GRDB
import TelemetryModel

extension GenevaStore {
    package typealias SightingRow = TelemetryModel.SightingRow

    /// Sightings in `window`, oldest first, optionally of one customer and/or
    /// attributed to one campaign (by its id).
    package func sightings(window: TimeWindow, customerID: String? = nil, campaignID: String? = nil) throws(StorageError) -> [SightingRow] {
        try read { db in
            // Attributions computed from the intel in memory (as the report does),
            // not joined per row.
            let scan = try ReportScan(db)
            func makeRow(_ row: Row) -> SightingRow? {
                GenevaStore.sightingRow(row, campaignID: campaignID) { scan.attributions(sid: $0, time: $1, indicator: Int($2)) }
            }
            let select = GenevaStore.sightingSelect
            guard customerID != nil || campaignID != nil else {
                return try Row.fetchAll(db, sql: select + " WHERE s.time >= ? AND s.time < ? ORDER BY s.time, s.id",
                                        arguments: [window.since?.nanoseconds ?? .min, window.until?.nanoseconds ?? .max]).compactMap(makeRow)
            }
            // A customer's or a campaign's sightings: found by scanning the packs
            // (no per-customer or per-indicator index to slow ingest down), then
            // read by id.
            var customerN: Int32? = nil
            if let customerID {
                guard let n = try Int64.fetchOne(db, sql: "SELECT n FROM customer WHERE id = ?", arguments: [customerID]),
                      let narrow = Int32(exactly: n) else { return [] }
                customerN = narrow
            }
            var indicators: Set<Int32>? = nil
            var clustered: Set<Int64> = []
            if let campaignID {
                indicators = Set(try Int64.fetchAll(db, sql: """
                    SELECT DISTINCT e.indicator_id FROM intel_entry e JOIN campaign cp ON cp.id = e.campaign_id WHERE cp.key = ?
                    """, arguments: [campaignID]).compactMap { Int32(exactly: $0) })
                clustered = Set(try Int64.fetchAll(db, sql: """
                    SELECT cs.sighting_id FROM cluster_sighting cs JOIN campaign cp ON cp.id = cs.campaign_id WHERE cp.key = ?
                    """, arguments: [campaignID]))
            }
            let ids = try SightingPack.sightingIDs(
                db, since: window.since?.nanoseconds ?? .min, until: window.until?.nanoseconds ?? .max,
                customer: customerN, indicators: indicators, orSightings: clustered)
            var rows: [SightingRow] = []
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(start + 500, ids.count)]
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                rows += try Row.fetchAll(db, sql: select + " WHERE s.id IN (\(marks))", arguments: StatementArguments(Array(chunk)))
                    .compactMap(makeRow)
            }
            return rows.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        }
    }

    /// Every sighting in `window`, oldest first, with its attributions,
    /// streamed from a cursor (exports of millions of sightings do not hold
    /// them in memory).
    package func forEachSighting(window: TimeWindow, _ body: (SightingRow) throws -> Void) throws(StorageError) {
        try read { db in
            let scan = try ReportScan(db)
            let rows = try Row.fetchCursor(
                db, sql: GenevaStore.sightingSelect + " WHERE s.time >= ? AND s.time < ? ORDER BY s.time, s.id",
                arguments: [window.since?.nanoseconds ?? .min, window.until?.nanoseconds ?? .max])
            while let row = try rows.next() {
                if let sighting = GenevaStore.sightingRow(row, campaignID: nil, attributions: {
                    scan.attributions(sid: $0, time: $1, indicator: Int($2))
                }) {
                    try body(sighting)
                }
            }
        }
    }

    /// The window, customer and campaign conditions on `sighting s`.
    static func sightingFilter(window: TimeWindow, customerID: String?, campaignID: String?) -> (StatementArguments, String) {
        var arguments = GenevaStore.windowArguments(window)
        var filter = ""
        if let customerID {
            filter += " AND s.customer_id = :customer"
            _ = arguments.append(contentsOf: ["customer": customerID])
        }
        if let campaignID {
            // Only sightings that can be in the campaign: of its intel indicators, or clustered into it.
            filter += """
                 AND (s.indicator_id IN (SELECT e.indicator_id FROM intel_entry e JOIN campaign cp ON cp.id = e.campaign_id WHERE cp.key = :campaignKey)
                      OR s.id IN (SELECT cs.sighting_id FROM cluster_sighting cs JOIN campaign cp ON cp.id = cs.campaign_id WHERE cp.key = :campaignKey))
                """
            _ = arguments.append(contentsOf: ["campaignKey": campaignID])
        }
        return (arguments, filter)
    }

    /// `sightings` with attributions from `attributedCTE` in SQL: the
    /// definition, the differential test's oracle (slow at millions of rows).
    package func sightingsSQL(window: TimeWindow, customerID: String? = nil, campaignID: String? = nil) throws(StorageError) -> [SightingRow] {
        let (arguments, filter) = GenevaStore.sightingFilter(window: window, customerID: customerID, campaignID: campaignID)
        return try read { db in
            var attributions: [Int64: [SightingRow.Attribution]] = [:]
            for row in try Row.fetchAll(db, sql: GenevaStore.attributedCTE(filter: filter) + """
                SELECT DISTINCT e.sid, a.name, a.country, cp.key, cp.name
                FROM e LEFT JOIN campaign cp ON cp.id = e.campaign_id LEFT JOIN actor a ON a.id = e.actor_id
                ORDER BY e.sid, a.name, cp.key
                """, arguments: arguments) {
                let country: String? = row[2]
                let attribution = SightingRow.Attribution(
                    actor: row[1], actorCountry: country.flatMap(CountryCode.init), campaignID: row[3], campaignName: row[4])
                guard attribution.actor != nil || attribution.campaignID != nil else { continue }
                attributions[row[0], default: []].append(attribution)
            }
            return try Row.fetchAll(db, sql: GenevaStore.sightingSelect + """
                 WHERE s.time >= :since AND s.time < :until\(filter)
                ORDER BY s.time, s.id
                """, arguments: arguments).compactMap { row in
                GenevaStore.sightingRow(row, campaignID: campaignID) { sid, _, _ in attributions[sid] ?? [] }
            }
        }
    }

    /// The columns `sightingRow` reads.
    static let sightingSelect = """
        SELECT s.id, s.time, s.customer_id, c.country, s.sensor, s.evidence, s.key, s.source, s.offset, s.observed,
               i.kind, i.value, i.id
        FROM sighting s JOIN customer c ON c.id = s.customer_id JOIN indicator i ON i.id = s.indicator_id
        """

    /// One row of `sightingSelect` with its attributions (sighting id, time,
    /// indicator id → attributions); nil when `campaignID` is given and
    /// not among them.
    static func sightingRow(
        _ row: Row, campaignID: String?, attributions: (Int64, Int64, Int64) -> [SightingRow.Attribution]
    ) -> SightingRow? {
        let found = attributions(row[0], row[1], row[12])
        if let campaignID, !found.contains(where: { $0.campaignID == campaignID }) { return nil }
        let country: String = row[3]
        return SightingRow(
            id: row[0], time: Timestamp(nanoseconds: row[1]), customerID: row[2], customerCountry: CountryCode(country),
            sensor: row[4], evidence: row[5], key: row[6], source: row[7], offset: row[8], observed: row[9],
            indicatorID: row[12], indicatorKind: row[10], indicatorValue: row[11], attributions: found)
    }
}

extension GenevaStore {
    /// Indicator id → the earliest `valid_from` any source gives (sources
    /// that give none are left out), for exported STIX indicators.
    package func indicatorValidFrom() throws(StorageError) -> [Int64: Timestamp] {
        try read { db in
            var out: [Int64: Timestamp] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT indicator_id, MIN(valid_from) FROM intel_entry
                WHERE valid_from > ?
                GROUP BY indicator_id
                """, arguments: [Int64.min]) {
                out[row[0]] = Timestamp(nanoseconds: row[1])
            }
            return out
        }
    }

    /// Customer id → name.
    package func customerNames() throws(StorageError) -> [String: String] {
        try read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, name FROM customer").map { ($0[0] as String, $0[1] as String) })
        }
    }
}
