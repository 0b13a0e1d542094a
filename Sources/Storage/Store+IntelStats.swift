import TelemetryModel

/// `geneva intel stats` (SPEC §5): what the store knows.
package struct IntelStats: Equatable, Sendable {
    /// Distinct normalised indicators that at least one source still states.
    package var indicators: Int
    package var indicatorsByKind: [IndicatorKind: Int]
    package var actors: Int
    package var actorsWithCountry: Int
    package var actorsByCountry: [String: Int]
    package var campaigns: Int
    /// Source name → distinct indicators it states.
    package var sources: [String: Int]
    /// Skip reason → records skipped, over all sources.
    package var skipped: [String: Int]
}

extension GenevaStore {
    package func intelStats() throws(StorageError) -> IntelStats {
        try read { db in
            var byKind: [IndicatorKind: Int] = [:]
            for row in try db.rows("""
                SELECT kind, COUNT(*) FROM indicator WHERE id IN (SELECT indicator_id FROM intel_entry) GROUP BY kind
                """) {
                if let kind = IndicatorKind(rawValue: try row.string(0)) { byKind[kind] = try row.int(1) }
            }
            var byCountry: [String: Int] = [:]
            for row in try db.rows("SELECT country, COUNT(*) FROM actor WHERE country IS NOT NULL GROUP BY country") {
                byCountry[try row.string(0)] = try row.int(1)
            }
            var sources: [String: Int] = [:]
            for row in try db.rows("""
                SELECT s.name, COUNT(DISTINCT e.indicator_id) FROM intel_source s
                LEFT JOIN intel_entry e ON e.source_id = s.id GROUP BY s.id, s.name
                """) {
                sources[try row.string(0)] = try row.int(1)
            }
            var skipped: [String: Int] = [:]
            for row in try db.rows("SELECT reason, CAST(SUM(count) AS BIGINT) FROM intel_skip GROUP BY reason") {
                skipped[try row.string(0)] = try row.int(1)
            }
            return IntelStats(
                indicators: byKind.values.reduce(0, +), indicatorsByKind: byKind,
                actors: Int(try db.int64("SELECT COUNT(*) FROM actor") ?? 0),
                actorsWithCountry: byCountry.values.reduce(0, +), actorsByCountry: byCountry,
                campaigns: Int(try db.int64("SELECT COUNT(*) FROM campaign") ?? 0),
                sources: sources, skipped: skipped)
        }
    }

    /// The stored country of the actor known by `name` (name or alias), for
    /// diagnostics and tests; `nil` if unknown or ambiguous.
    package func actorCountry(named name: String) throws(StorageError) -> String? {
        try read { db in
            if let country = try db.string("SELECT country FROM actor WHERE lower(name) = ?", [.text(name.asciiLowercased)]) {
                return country
            }
            let rows = try db.rows("""
                SELECT DISTINCT a.id, a.country FROM actor_alias x JOIN actor a ON a.id = x.actor_id WHERE lower(x.alias) = ?
                """, [.text(name.asciiLowercased)])
            return rows.count == 1 ? try rows[0].optionalString(1) : nil
        }
    }
}
