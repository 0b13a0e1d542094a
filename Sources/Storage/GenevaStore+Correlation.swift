import Correlation
import GRDB
import TelemetryModel

extension GenevaStore {
    package struct CorrelationSummary: Equatable, Sendable {
        /// Sightings of indicators without an intel campaign (the clusterer's input).
        package var sightings: Int
        package var campaigns: Int
        package var attributed: Int
        /// Indicators over the correlation limit (they link nothing else).
        package var popularIndicators: Int
    }

    /// The parameters `correlate` used last (or the defaults), so that the
    /// correlation `scan` runs after each file matches the analyst's choice.
    package func correlationParameters() throws(StorageError) -> Clusterer.Parameters {
        try read { db in
            var p = Clusterer.Parameters.default
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM setting WHERE name LIKE 'correlation.%'") {
                let value = Int64(row[1] as String)
                switch row[0] as String {
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
        let needed = try read { db -> Bool in
            let last = Int64(try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'correlation.last_sighting'") ?? "") ?? 0
            return try Bool.fetchOne(db, sql: """
                SELECT 1 FROM sighting s WHERE s.id > ?
                  AND NOT EXISTS (SELECT 1 FROM intel_entry e WHERE e.indicator_id = s.indicator_id AND e.campaign_id IS NOT NULL
                                  AND e.valid_from <= s.time AND (e.valid_until IS NULL OR s.time < e.valid_until))
                LIMIT 1
                """, arguments: [last]) ?? false
        }
        return needed ? try correlate() : nil
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
                        sql: "INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                        arguments: [name, String(value)])
                }
            }
            // Sightings that count for their indicator (some statement valid at
            // their time) and that no valid statement puts in an intel campaign.
            let rows = try Row.fetchAll(db, sql: """
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
                    id: row[0], indicator: row[1], customer: row[2], sensor: row[3], evidence: row[4], key: row[5], time: row[6]))
                names[row[1]] = "\(row[7] as String):\(row[8] as String)"
            }
            var reports: [Int64: [String]] = [:]
            var actorsOf: [Int64: Set<Int64>] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT DISTINCT e.indicator_id, e.report, e.actor_id FROM intel_entry e
                WHERE e.report IS NOT NULL OR e.actor_id IS NOT NULL
                """) {
                let indicator: Int64 = row[0]
                if let report: String = row[1], !(reports[indicator]?.contains(report) ?? false) {
                    reports[indicator, default: []].append(report)
                }
                if let actor: Int64 = row[2] { actorsOf[indicator, default: []].insert(actor) }
            }

            try db.execute(
                sql: """
                    INSERT INTO setting (name, value) VALUES ('correlation.last_sighting', (SELECT COALESCE(MAX(id), 0) FROM sighting))
                    ON CONFLICT(name) DO UPDATE SET value = excluded.value
                    """)
            let clusterer = Clusterer(parameters: parameters)
            let clusters = clusterer.cluster(inputs, reports: reports)

            try db.execute(sql: "DELETE FROM cluster_sighting")
            try db.execute(sql: "DELETE FROM campaign WHERE origin = 'clustered'")
            let insertCampaign = try db.makeStatement(sql: """
                INSERT INTO campaign (key, name, origin, actor_id, confidence) VALUES (?, ?, 'clustered', ?, ?)
                """)
            let insertMember = try db.makeStatement(sql: """
                INSERT INTO cluster_sighting (sighting_id, campaign_id, via_sighting_id, reason, detail) VALUES (?, ?, ?, ?, ?)
                """)
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
                try insertCampaign.execute(arguments: [key, name, best?.key, confidence])
                let campaignID = db.lastInsertedRowID
                for m in cluster.members {
                    try insertMember.execute(arguments: [m.sighting, campaignID, m.via, m.reason.rawValue, m.detail])
                }
            }
            return summary
        }
    }
}
