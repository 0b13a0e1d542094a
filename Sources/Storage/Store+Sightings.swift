import TelemetryModel

package typealias SightingRow = TelemetryModel.SightingRow

extension GenevaStore {
    /// Sightings in `window`, oldest first, optionally of one customer and/or
    /// attributed to one campaign (by its id).
    package func sightings(window: TimeWindow, customerID: String? = nil, campaignID: String? = nil) throws(StorageError) -> [SightingRow] {
        try sightingRows(window: window, customerID: customerID, campaignID: campaignID)
    }

    /// Every sighting in `window`, oldest first, with its attributions,
    /// streamed from a cursor (exports of millions of sightings do not hold
    /// them in memory).
    package func forEachSighting(window: TimeWindow, _ body: (SightingRow) throws -> Void) throws(StorageError) {
        try read { db in
            let scan = try ReportScan(db)
            try db.forEachRow(Self.sightingSelect + " WHERE s.time >= ? AND s.time < ? ORDER BY s.time, s.id", Self.windowArguments(window)) { row in
                if let sighting = try Self.sightingRow(row, campaignID: nil, attributions: {
                    scan.attributions(sid: $0, time: $1, indicator: Int($2))
                }) {
                    try body(sighting)
                }
            }
        }
    }

    /// The window, customer and campaign conditions on `sighting s`, with
    /// their arguments after the window's.
    static func sightingFilter(window: TimeWindow, customerID: String?, campaignID: String?) -> ([SQLValue], String) {
        var arguments = Self.windowArguments(window)
        var filter = ""
        if let customerID {
            filter += " AND s.customer_id = ?"
            arguments.append(.text(customerID))
        }
        if let campaignID {
            // Only sightings that can be in the campaign: of its intel indicators, or clustered into it.
            filter += """
                 AND (s.indicator_id IN (SELECT e.indicator_id FROM intel_entry e JOIN campaign cp ON cp.id = e.campaign_id WHERE cp.key = ?)
                      OR s.id IN (SELECT cs.sighting_id FROM cluster_sighting cs JOIN campaign cp ON cp.id = cs.campaign_id WHERE cp.key = ?))
                """
            arguments += [.text(campaignID), .text(campaignID)]
        }
        return (arguments, filter)
    }

    /// `sightings` with attributions from `attributedCTE` in SQL: the
    /// definition, the differential test's oracle (slow at millions of rows).
    package func sightingsSQL(window: TimeWindow, customerID: String? = nil, campaignID: String? = nil) throws(StorageError) -> [SightingRow] {
        let (arguments, filter) = Self.sightingFilter(window: window, customerID: customerID, campaignID: campaignID)
        return try read { db in
            var attributions: [Int64: [SightingRow.Attribution]] = [:]
            for row in try db.rows(Self.attributedCTE(filter: filter) + """
                SELECT DISTINCT e.sid, a.name, a.country, cp.key, cp.name, lower(a.name)
                FROM e LEFT JOIN campaign cp ON cp.id = e.campaign_id LEFT JOIN actor a ON a.id = e.actor_id
                ORDER BY e.sid, lower(a.name) NULLS FIRST, a.name, cp.key NULLS FIRST
                """, arguments) {
                let attribution = SightingRow.Attribution(
                    actor: try row.optionalString(1), actorCountry: try row.optionalString(2).flatMap(CountryCode.init),
                    campaignID: try row.optionalString(3), campaignName: try row.optionalString(4))
                guard attribution.actor != nil || attribution.campaignID != nil else { continue }
                attributions[try row.int64(0), default: []].append(attribution)
            }
            return try db.rows(Self.sightingSelect + """
                 WHERE s.time >= ? AND s.time < ?\(filter)
                ORDER BY s.time, s.id
                """, arguments).compactMap { row in
                try Self.sightingRow(row, campaignID: campaignID) { sid, _, _ in attributions[sid] ?? [] }
            }
        }
    }

    /// The columns `sightingRow` reads.
    static var sightingSelect: String {
        """
        SELECT s.id, s.time, s.customer_id, c.country, s.sensor, s.evidence, s.key, s.source, s."offset", s.observed,
               i.kind, i.value, i.id
        FROM sighting s JOIN customer c ON c.id = s.customer_id JOIN indicator i ON i.id = s.indicator_id
        """
    }

    /// One row of `sightingSelect` with its attributions (sighting id, time,
    /// indicator id → attributions); nil when `campaignID` is given and
    /// not among them.
    static func sightingRow(
        _ row: SQLRow, campaignID: String?, attributions: (Int64, Int64, Int64) -> [SightingRow.Attribution]
    ) throws -> SightingRow? {
        let found = attributions(try row.int64(0), try row.int64(1), try row.int64(12))
        if let campaignID, !found.contains(where: { $0.campaignID == campaignID }) { return nil }
        return SightingRow(
            id: try row.int64(0), time: Timestamp(nanoseconds: try row.int64(1)), customerID: try row.string(2),
            customerCountry: CountryCode(try row.string(3)), sensor: try row.string(4), evidence: try row.string(5), key: try row.string(6),
            source: try row.string(7), offset: try row.int64(8), observed: try row.string(9), indicatorID: try row.int64(12),
            indicatorKind: try row.string(10), indicatorValue: try row.string(11), attributions: found)
    }
}
