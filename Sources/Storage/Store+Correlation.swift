import Correlation
import TelemetryModel

package struct CorrelationSummary: Equatable, Sendable {
    /// Sightings of indicators without an intel campaign (the clusterer's input).
    package var sightings: Int
    package var campaigns: Int
    package var attributed: Int
    /// Indicators over the correlation limit (they link nothing else).
    package var popularIndicators: Int
}

extension GenevaStore {
    /// The parameters `correlate` used last (or the defaults), so that the
    /// correlation `scan` runs after each file matches the analyst's choice.
    package func correlationParameters() throws(StorageError) -> Clusterer.Parameters {
        try read { db in
            var p = Clusterer.Parameters.default
            for row in try db.rows("SELECT name, value FROM setting WHERE name LIKE 'correlation.%'") {
                let value = Int64(try row.string(1))
                switch try row.string(0) {
                case "correlation.customer_window_ns": if let value { p.customerWindow = value }
                case "correlation.split_gap_ns": if let value { p.splitGap = value }
                case "correlation.limit": if let value { p.correlationLimit = Int(value) }
                default: break
                }
            }
            return p
        }
    }

    /// Rebuilds the clustered campaigns when sightings stored since the last
    /// correlation include any without an intel campaign (only those can
    /// change a cluster); returns nil when nothing needed doing. `scan` calls
    /// this after each file set, so scans of intel-campaign traffic do not pay
    /// for a rebuild.
    package func correlateIfNeeded() throws(StorageError) -> CorrelationSummary? {
        try correlateIfNeeded(checkedThrough: 0).summary
    }

    /// As ``correlateIfNeeded()``, skipping the sightings up to
    /// `checkedThrough` that an earlier call of the same caller found not to
    /// need clustering (when intel has every sighting in an intel campaign,
    /// nothing moves the last correlation's mark and each check would read
    /// every sighting again). Returns the newest sighting id it covered.
    package func correlateIfNeeded(checkedThrough: Int64) throws(StorageError) -> (summary: CorrelationSummary?, checkedThrough: Int64) {
        let (needed, newest) = try read { db -> (Bool, Int64) in
            let last = max(checkedThrough, Int64(try db.string("SELECT value FROM setting WHERE name = 'correlation.last_sighting'") ?? "") ?? 0)
            let newest = try db.int64("SELECT max(id) FROM sighting") ?? 0
            let needed = try db.row("""
                SELECT 1 FROM sighting s WHERE s.id > ? AND s.id <= ?
                  AND NOT EXISTS (SELECT 1 FROM intel_entry e WHERE e.indicator_id = s.indicator_id AND e.campaign_id IS NOT NULL
                                  AND e.valid_from <= s.time AND (e.valid_until IS NULL OR s.time < e.valid_until))
                LIMIT 1
                """, [.integer(last), .integer(newest)]) != nil
            return (needed, newest)
        }
        return (needed ? try correlate() : nil, newest)
    }

    /// Rebuilds every clustered campaign from the stored sightings in one
    /// transaction (SPEC §4): an interrupted run leaves the previous
    /// campaigns. Ids depend only on the data, so a rebuild from the same
    /// sightings and intel gives the same campaigns.
    @discardableResult
    package func correlate(parameters: Clusterer.Parameters? = nil) throws(StorageError) -> CorrelationSummary {
        let stored = try correlationParameters()
        let parameters = parameters ?? stored
        return try write { db in
            if parameters != stored {
                for (name, value) in [
                    ("correlation.customer_window_ns", parameters.customerWindow), ("correlation.split_gap_ns", parameters.splitGap),
                    ("correlation.limit", Int64(parameters.correlationLimit)),
                ] {
                    try db.execute(
                        "INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                        [.text(name), .text(String(value))])
                }
            }
            // Sightings that count for their indicator (some statement valid at
            // their time) and that no valid statement puts in an intel campaign.
            let rows = try db.rows("""
                SELECT s.id, s.indicator_id, s.customer_id, s.sensor, s.evidence, s.key, s.time, i.kind, i.value
                FROM sighting s JOIN indicator i ON i.id = s.indicator_id
                WHERE EXISTS (SELECT 1 FROM intel_entry e WHERE e.indicator_id = s.indicator_id
                                AND e.valid_from <= s.time AND (e.valid_until IS NULL OR s.time < e.valid_until))
                  AND NOT EXISTS (SELECT 1 FROM intel_entry e WHERE e.indicator_id = s.indicator_id AND e.campaign_id IS NOT NULL
                                AND e.valid_from <= s.time AND (e.valid_until IS NULL OR s.time < e.valid_until))
                """)
            var inputs: [Clusterer.Input] = []
            inputs.reserveCapacity(rows.count)
            var names: [Int64: String] = [:]
            for row in rows {
                inputs.append(Clusterer.Input(
                    id: try row.int64(0), indicator: try row.int64(1), customer: try row.string(2), sensor: try row.string(3),
                    evidence: try row.string(4), key: try row.string(5), time: try row.int64(6)))
                names[try row.int64(1)] = "\(try row.string(7)):\(try row.string(8))"
            }
            var reports: [Int64: [String]] = [:]
            var actorsOf: [Int64: Set<Int64>] = [:]
            for row in try db.rows("""
                SELECT DISTINCT e.indicator_id, e.report, e.actor_id FROM intel_entry e
                WHERE e.report IS NOT NULL OR e.actor_id IS NOT NULL
                """) {
                let indicator = try row.int64(0)
                if let report = try row.optionalString(1), !(reports[indicator]?.contains(report) ?? false) {
                    reports[indicator, default: []].append(report)
                }
                if let actor = try row.optionalInt64(2) { actorsOf[indicator, default: []].insert(actor) }
            }

            try db.execute("""
                INSERT INTO setting (name, value) VALUES ('correlation.last_sighting', (SELECT CAST(COALESCE(MAX(id), 0) AS TEXT) FROM sighting))
                ON CONFLICT(name) DO UPDATE SET value = excluded.value
                """)
            let clusterer = Clusterer(parameters: parameters)
            let clusters = clusterer.cluster(inputs, reports: reports)

            try db.execute("DELETE FROM cluster_sighting")
            try db.execute("DELETE FROM campaign WHERE origin = 'clustered'")
            let insertCampaign = "INSERT INTO campaign (key, name, origin, actor_id, confidence) VALUES (?, ?, 'clustered', ?, ?)"
            let insertMember = "INSERT INTO cluster_sighting (sighting_id, campaign_id, via_sighting_id, reason, detail) VALUES (?, ?, ?, ?, ?)"
            var summary = CorrelationSummary(sightings: inputs.count, campaigns: clusters.count, attributed: 0, popularIndicators: 0)
            summary.popularIndicators = clusterer.popularIndicators(inputs).count

            for cluster in clusters {
                let seed = cluster.seed
                let key = Clusterer.campaignKey(seedIdentity: [
                    names[seed.indicator] ?? "", seed.customer, seed.sensor, seed.evidence, seed.key, String(seed.time),
                ].joined(separator: "\u{1F}"))
                // The actor the most of its indicators are attributed to (a plurality, not
                // necessarily a majority: the confidence says how many); ties go to the lower id.
                var votes: [Int64: Int] = [:]
                for indicator in cluster.indicators {
                    for actor in actorsOf[indicator] ?? [] { votes[actor, default: 0] += 1 }
                }
                let best = votes.max { ($0.value, -$0.key) < ($1.value, -$1.key) }
                let confidence = best.map { Int(($0.value * 100 + cluster.indicators.count / 2) / cluster.indicators.count) }
                if best != nil { summary.attributed += 1 }
                let day = Timestamp(nanoseconds: seed.time).rfc3339.prefix(10)
                let name = "Cluster \(key): \(names[seed.indicator].map { String($0.split(separator: ":", maxSplits: 1).last ?? "") } ?? "?") from \(day)"
                let campaignID = try db.insert(insertCampaign, [.text(key), .text(name), .int(best?.key), .int(confidence)])!
                for m in cluster.members {
                    try db.execute(insertMember, [.integer(m.sighting), .integer(campaignID), .int(m.via), .text(m.reason.rawValue), .text(m.detail)])
                }
            }
            return summary
        }
    }
}
