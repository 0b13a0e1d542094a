import TelemetryModel

/// One campaign with its evidence: every in-window sighting and why it is
/// in the campaign.
package struct CampaignDetail: Sendable {
    package struct Evidence: Sendable {
        package var sighting: SightingRow
        /// Intel campaigns: `intel`; clustered: the link's reason (`seed`,
        /// `same-customer`, …).
        package var reason: String
        /// One sentence saying what the membership rests on.
        package var why: String
        /// Clustered: the sighting this one was linked to.
        package var via: Int64?
    }

    package var campaign: NationStateReport.CampaignRow
    package var evidence: [Evidence]
}

extension GenevaStore {
    /// Campaigns with sightings in `window` (SPEC §6 rows), optionally only
    /// those whose actor works for `actorCountry`.
    package func campaigns(window: TimeWindow, actorCountry: CountryCode? = nil) throws(StorageError) -> [NationStateReport.CampaignRow] {
        let (scan, tally, _) = try reportScan(window: window)
        return scan.campaignRows(tally, actorCountryFilter: actorCountry?.code)
    }

    /// The campaign with id (key) `id`, or nil when it has no sighting in `window`
    /// or does not exist.
    package func campaign(id: String, window: TimeWindow) throws(StorageError) -> CampaignDetail? {
        let (scan, tally, _) = try reportScan(window: window)
        let found: (NationStateReport.CampaignRow, [Int64: (reason: String, why: String, via: Int64?)], [Int64: [(from: Int64, until: Int64, source: String)]])? = try read { db in
            guard let row = scan.campaignRows(tally, key: id).first,
                  let campaignID = try db.int64("SELECT id FROM campaign WHERE key = ?", [.text(id)])
            else { return nil }
            var why: [Int64: (reason: String, why: String, via: Int64?)] = [:]
            var intelSources: [Int64: [(from: Int64, until: Int64, source: String)]] = [:]
            if row.origin == .intel {
                // The campaign's statements (intel-sized), matched to each sighting below.
                for r in try db.rows("""
                    SELECT e.indicator_id, e.valid_from, e.valid_until, src.name
                    FROM intel_entry e JOIN intel_source src ON src.id = e.source_id
                    WHERE e.campaign_id = ?
                    """, [.integer(campaignID)]) {
                    intelSources[try r.int64(0), default: []].append((try r.int64(1), try r.optionalInt64(2) ?? .max, try r.string(3)))
                }
            } else {
                for r in try db.rows("""
                    SELECT cs.sighting_id, cs.reason, cs.detail, cs.via_sighting_id, vi.kind, vi.value, v.customer_id, v.time
                    FROM cluster_sighting cs
                    LEFT JOIN sighting v ON v.id = cs.via_sighting_id LEFT JOIN indicator vi ON vi.id = v.indicator_id
                    WHERE cs.campaign_id = ?
                    """, [.integer(campaignID)]) {
                    let reason = try r.string(1)
                    let via = try r.optionalInt64(3)
                    var text = "\(reason): \(try r.string(2))"
                    if let via, let kind = try r.optionalString(4), let value = try r.optionalString(5), let customer = try r.optionalString(6),
                       let time = try r.optionalInt64(7) {
                        text += "; linked to sighting \(via) (\(kind) \(value) at \(customer), \(Timestamp(nanoseconds: time).rfc3339))"
                    }
                    why[try r.int64(0)] = (reason, text, via)
                }
            }
            return (row, why, intelSources)
        }
        guard let (row, why, intelSources) = found else { return nil }
        let evidence = try sightings(window: window, campaignID: id).map { s in
            if row.origin == .intel {
                var names: [String] = []
                for e in intelSources[s.indicatorID] ?? [] where e.from <= s.time.nanoseconds && s.time.nanoseconds < e.until && !names.contains(e.source) {
                    names.append(e.source)
                }
                return CampaignDetail.Evidence(
                    sighting: s, reason: "intel",
                    why: "intel (\(names.sorted().joined(separator: ","))) puts \(s.indicatorKind) \(s.indicatorValue) in this campaign, valid at the sighting's time",
                    via: nil)
            }
            let w = why[s.id] ?? ("unexplained", "no stored link (run `geneva correlate`)", nil)
            return CampaignDetail.Evidence(sighting: s, reason: w.reason, why: w.why, via: w.via)
        }
        return CampaignDetail(campaign: row, evidence: evidence)
    }

}

extension GenevaStore {
    /// `campaigns(window:actorCountry:)` straight from SQL (the differential test's oracle).
    package func campaignsSQL(window: TimeWindow, actorCountry: CountryCode? = nil) throws(StorageError) -> [NationStateReport.CampaignRow] {
        try read { db in
            try Self.campaignRows(db, window: window, actorCountry: actorCountry?.code)
        }
    }
}
