import Foundation
import TelemetryModel
import WireParsing

/// The store every command uses, on SQLite (`SQLiteStore`, the embedded
/// default) or PostgreSQL (`PostgresStore`). What is the same on both
/// (customers, intel import, scans and sighting identity, correlation, the
/// report's attribution rules) is written once in extensions of this
/// protocol against `SQLSession`; an implementation brings transactions,
/// its schema, and the one-pass reads that each database does its own way.
package protocol GenevaStore: Sendable {
    /// Where the data lives, for messages (never a password).
    var location: String { get }
    /// Runs `body` in one write transaction: all of it or none of it is
    /// stored, and writers (also in other processes) take turns.
    func write<T>(_ body: (any SQLSession) throws -> T) throws(StorageError) -> T
    /// Runs `body` in one read transaction: a consistent snapshot.
    func read<T>(_ body: (any SQLSession) throws -> T) throws(StorageError) -> T
    /// Called inside `recordScan`'s transaction with its new sightings
    /// (SQLite copies them into its report packs).
    func didInsertSightings(_ records: [SightingPack.Record], in session: any SQLSession) throws
    /// The window's report tally (`ReportScan`) with the intel it used and
    /// the coverage, from one consistent state of the store.
    func reportScan(window: TimeWindow) throws(StorageError) -> (ReportScan, ReportScan.Tally, NationStateReport.Coverage)
    /// Sightings in `window`, oldest first, optionally of one customer
    /// and/or attributed to one campaign (by its id): `sightings(window:…)`.
    func sightingRows(window: TimeWindow, customerID: String?, campaignID: String?) throws(StorageError) -> [SightingRow]
}

/// Opens the store `url` names: a `postgres://` or `postgresql://` URL, or
/// else a SQLite file path.
package func openStore(_ url: String) throws(StorageError) -> any GenevaStore {
    if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
        return try PostgresStore(url: url)
    }
    return try SQLiteStore(path: url)
}

package struct CustomerImportSummary: Equatable, Sendable {
    package var inserted: Int
    package var updated: Int
}

package struct IntelImportSummary: Equatable, Sendable {
    package var records: Int
    package var newIndicators: Int
    package var actors: Int
    package var campaigns: Int
    /// Rows whose actor country disagreed with the one already stored (kept).
    package var conflictingActorCountries: Int
}

/// One intel entry as the matcher needs it.
package typealias IndicatorEntryRow = (indicatorID: Int64, kind: IndicatorKind, value: String, validFrom: Timestamp, validUntil: Timestamp?)

/// What one scanned file covered.
package struct ScanRecord: Sendable {
    package var customerID: String
    package var sensor: String
    package var source: String
    package var firstTime: Timestamp?
    package var lastTime: Timestamp?
    package var records: Int
    package var observables: Int
    /// Anomaly name → count.
    package var anomalies: [String: Int]

    package init(
        customerID: String, sensor: String, source: String, firstTime: Timestamp?, lastTime: Timestamp?,
        records: Int, observables: Int, anomalies: [String: Int]
    ) {
        self.customerID = customerID
        self.sensor = sensor
        self.source = source
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.records = records
        self.observables = observables
        self.anomalies = anomalies
    }
}

// MARK: Customers

extension GenevaStore {
    /// Upserts customers by id in one transaction.
    package func importCustomers(_ customers: [Customer]) throws(StorageError) -> CustomerImportSummary {
        try write { db in
            var summary = CustomerImportSummary(inserted: 0, updated: 0)
            for c in customers {
                let exists = try db.row("SELECT 1 FROM customer WHERE id = ?", [.text(c.id)]) != nil
                try db.execute(
                    """
                    INSERT INTO customer (id, name, country, sector, n) VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(n), 0) + 1 FROM customer))
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, country = excluded.country, sector = excluded.sector
                    """,
                    [.text(c.id), .text(c.name), .text(c.country.code), .string(c.sector)])
                if exists { summary.updated += 1 } else { summary.inserted += 1 }
            }
            return summary
        }
    }

    package func customer(id: String) throws(StorageError) -> Customer? {
        try read { db in
            guard let row = try db.row("SELECT id, name, country, sector FROM customer WHERE id = ?", [.text(id)]),
                  let country = CountryCode(try row.string(2))
            else { return nil }
            return Customer(id: try row.string(0), name: try row.string(1), country: country, sector: try row.optionalString(3))
        }
    }

    /// Customer id → name.
    package func customerNames() throws(StorageError) -> [String: String] {
        try read { db in
            var names: [String: String] = [:]
            for row in try db.rows("SELECT id, name FROM customer") { names[try row.string(0)] = try row.string(1) }
            return names
        }
    }
}

// MARK: Intel

extension GenevaStore {
    /// Replaces everything `source` said before with what it says now, in
    /// one transaction. Importing the same file twice therefore changes
    /// nothing. Actors are matched across sources by name, then by an alias
    /// that names exactly one actor; within one source, distinct actors stay
    /// distinct even where their synonyms overlap (see `ActorResolver`).
    package func importIntel(
        source: String, format: String, statements: [IntelStatement], actors: [ActorStatement] = [],
        campaigns: [CampaignStatement] = [], skipped: [String: Int]
    ) throws(StorageError) -> IntelImportSummary {
        try write { db in
            var summary = IntelImportSummary(records: statements.count, newIndicators: 0, actors: 0, campaigns: 0, conflictingActorCountries: 0)
            let sourceID = try db.int64(
                """
                INSERT INTO intel_source (name, format, imported_at) VALUES (?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET format = excluded.format, imported_at = excluded.imported_at
                RETURNING id
                """,
                [.text(source), .text(format), .integer(Int64(Date().timeIntervalSince1970))])!
            for table in ["intel_entry", "intel_skip", "actor_source", "campaign_source"] {
                try db.execute("DELETE FROM \(table) WHERE source_id = ?", [.integer(sourceID)])
            }

            var resolver = ActorResolver(sourceID: sourceID)
            for actor in actors where try resolver.upsert(db, actor).conflict {
                summary.conflictingActorCountries += 1
            }
            var campaignIDs: [String: Int64] = [:]
            for campaign in campaigns {
                var actorID: Int64? = nil
                if let name = campaign.actor { actorID = try resolver.upsert(db, ActorStatement(name: name)).id }
                campaignIDs[campaign.name.asciiLowercased] = try Self.upsertCampaign(db, name: campaign.name, actorID: actorID, sourceID: sourceID)
            }

            // Actors, campaigns and indicators are resolved once per import;
            // the statements in the loop are prepared once (SQLite) or named (PostgreSQL).
            var indicatorIDs: [IndicatorKey: Int64] = [:]
            var actorIDs: [ActorKey: (id: Int64, conflict: Bool)] = [:]
            var campaignActorsSet = Set<[Int64]>()
            var seenEntries = Set<EntryKey>()

            for s in statements {
                let key = IndicatorKey(kind: s.kind, value: s.value)
                let indicatorID: Int64
                if let id = indicatorIDs[key] {
                    indicatorID = id
                } else if let id = try db.int64("SELECT id FROM indicator WHERE kind = ? AND value = ?", [.text(s.kind.rawValue), .text(s.value)]) {
                    indicatorID = id
                    indicatorIDs[key] = id
                } else {
                    indicatorID = try db.insert("INSERT INTO indicator (kind, value) VALUES (?, ?)", [.text(s.kind.rawValue), .text(s.value)])!
                    summary.newIndicators += 1
                    indicatorIDs[key] = indicatorID
                }
                var actorID: Int64? = nil
                if let actor = s.actor {
                    let actorKey = ActorKey(name: actor.asciiLowercased, country: s.actorCountry?.code)
                    let result: (id: Int64, conflict: Bool)
                    if let cached = actorIDs[actorKey] {
                        result = cached
                    } else {
                        result = try resolver.upsert(db, ActorStatement(name: actor, country: s.actorCountry))
                        actorIDs[actorKey] = result
                    }
                    actorID = result.id
                    if result.conflict { summary.conflictingActorCountries += 1 }
                }
                var campaignID: Int64? = nil
                if let campaign = s.campaign {
                    if let id = campaignIDs[campaign.asciiLowercased] {
                        campaignID = id
                    } else {
                        let id = try Self.upsertCampaign(db, name: campaign, actorID: actorID, sourceID: sourceID)
                        campaignIDs[campaign.asciiLowercased] = id
                        campaignID = id
                    }
                    if let actorID, let campaignID, campaignActorsSet.insert([campaignID, actorID]).inserted {
                        try db.execute("UPDATE campaign SET actor_id = ? WHERE id = ? AND actor_id IS NULL", [.integer(actorID), .integer(campaignID)])
                    }
                }
                let from = s.validFrom?.nanoseconds ?? Int64.min
                let entryKey = EntryKey(
                    indicator: indicatorID, actor: actorID, campaign: campaignID, from: from, until: s.validUntil?.nanoseconds,
                    confidence: s.confidence, report: s.report)
                guard seenEntries.insert(entryKey).inserted else { continue }  // a repeated row says nothing new
                try db.execute(
                    """
                    INSERT INTO intel_entry (indicator_id, source_id, actor_id, campaign_id, valid_from, valid_until, confidence, report)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [.integer(indicatorID), .integer(sourceID), .int(actorID), .int(campaignID), .integer(from), .int(s.validUntil?.nanoseconds),
                     .int(s.confidence), .string(s.report)])
            }
            for (reason, count) in skipped where count > 0 {
                try db.execute("INSERT INTO intel_skip (source_id, reason, count) VALUES (?, ?, ?)", [.integer(sourceID), .text(reason), .int(count)])
            }
            // An actor's country is the first one any of its sources gives, so
            // re-importing or dropping a source keeps it consistent.
            try db.execute("""
                UPDATE actor SET country = (
                    SELECT country FROM actor_source WHERE actor_id = actor.id AND country IS NOT NULL ORDER BY source_id LIMIT 1)
                WHERE EXISTS (SELECT 1 FROM actor_source WHERE actor_id = actor.id)
                """)
            summary.actors = resolver.touched.count
            summary.campaigns = Set(campaignIDs.values).count
            return summary
        }
    }

    private static func upsertCampaign(_ db: any SQLSession, name: String, actorID: Int64?, sourceID: Int64) throws -> Int64 {
        let id: Int64
        if let row = try db.row("SELECT id, actor_id FROM campaign WHERE lower(name) = ?", [.text(name.asciiLowercased)]) {
            id = try row.int64(0)
            if try row.optionalInt64(1) == nil, let actorID {
                try db.execute("UPDATE campaign SET actor_id = ? WHERE id = ?", [.integer(actorID), .integer(id)])
            }
        } else {
            let base = "intel-" + campaignSlug(name)
            var key = base
            var n = 2
            while try db.row("SELECT 1 FROM campaign WHERE key = ?", [.text(key)]) != nil {
                key = "\(base)-\(n)"
                n += 1
            }
            id = try db.insert(
                "INSERT INTO campaign (key, name, origin, actor_id) VALUES (?, ?, 'intel', ?)", [.text(key), .text(name), .int(actorID)])!
        }
        try db.execute(
            "INSERT INTO campaign_source (campaign_id, source_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [.integer(id), .integer(sourceID)])
        return id
    }

    /// Calls `body` for every intel entry, streaming from the database so a
    /// million entries never sit in one array (for building an
    /// `IndicatorSet` snapshot).
    package func forEachIndicatorEntry(_ body: (IndicatorEntryRow) throws -> Void) throws(StorageError) {
        try read { db in
            try db.forEachRow("""
                SELECT i.id, i.kind, i.value, e.valid_from, e.valid_until
                FROM intel_entry e JOIN indicator i ON i.id = e.indicator_id
                """, []) { row in
                guard let kind = IndicatorKind(rawValue: try row.string(1)) else { return }
                try body((try row.int64(0), kind, try row.string(2), Timestamp(nanoseconds: try row.int64(3)),
                          try row.optionalInt64(4).map(Timestamp.init(nanoseconds:))))
            }
        }
    }

    /// Every intel entry, in one array (small stores and tests).
    package func indicatorEntries() throws(StorageError) -> [IndicatorEntryRow] {
        var result: [IndicatorEntryRow] = []
        try forEachIndicatorEntry { result.append($0) }
        return result
    }

    /// Indicator id → the earliest `valid_from` any source gives (sources
    /// that give none are left out), for exported STIX indicators.
    package func indicatorValidFrom() throws(StorageError) -> [Int64: Timestamp] {
        try read { db in
            var out: [Int64: Timestamp] = [:]
            for row in try db.rows(
                "SELECT indicator_id, MIN(valid_from) FROM intel_entry WHERE valid_from > ? GROUP BY indicator_id", [.integer(Int64.min)]) {
                out[try row.int64(0)] = Timestamp(nanoseconds: try row.int64(1))
            }
            return out
        }
    }
}

private struct IndicatorKey: Hashable {
    var kind: IndicatorKind
    var value: String
}

private struct ActorKey: Hashable {
    var name: String
    var country: String?
}

/// What makes two statements of one source the same entry.
private struct EntryKey: Hashable {
    var indicator: Int64
    var actor: Int64?
    var campaign: Int64?
    var from: Int64
    var until: Int64?
    var confidence: Int?
    var report: String?
}

/// A stable, readable id fragment: lower-case ASCII letters and digits,
/// other runs collapsed to `-`.
package func campaignSlug(_ name: String) -> String {
    var out = ""
    var dash = false
    for c in name.lowercased().unicodeScalars {
        if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
            out.unicodeScalars.append(c)
            dash = false
        } else if !dash, !out.isEmpty {
            out += "-"
            dash = true
        }
    }
    while out.hasSuffix("-") { out.removeLast() }
    return out.isEmpty ? "campaign" : out
}

// MARK: Scans and sightings

extension GenevaStore {
    /// Writes one scanned file's sightings in one transaction; returns how
    /// many were new (sightings already stored are ignored by identity).
    package func recordScan(_ scan: ScanRecord, sightings: [Sighting]) throws(StorageError) -> Int {
        try write { db in try insertScan(db, [scan], sightings) }
    }

    /// Sightings shipped by a sensor (`POST /v1/sightings`), named by their
    /// indicator's kind and value as exported: all of them are stored in one
    /// transaction, or none when one is unusable (unknown indicator or
    /// customer: a `rejectedUpload` error naming its index). Each (customer,
    /// sensor, source) is recorded as one scan, so shipped data counts for
    /// coverage as a scanned file does. Returns how many were new.
    package func recordUploads(_ uploads: [SightingUpload]) throws(StorageError) -> Int {
        try write { db in
            // The batch's distinct indicators, looked up 500 at a time.
            var indicatorIDs: [String: Int64] = [:]
            var wanted: [(String, String)] = []
            var seen = Set<String>()
            for u in uploads where seen.insert(u.indicatorKind + "\u{1F}" + u.indicatorValue).inserted {
                wanted.append((u.indicatorKind, u.indicatorValue))
            }
            for start in stride(from: 0, to: wanted.count, by: 500) {
                let chunk = wanted[start..<min(start + 500, wanted.count)]
                let rows = try db.rows(
                    "SELECT id, kind, value FROM indicator WHERE (kind, value) IN (VALUES "
                        + Array(repeating: "(?, ?)", count: chunk.count).joined(separator: ", ") + ")",
                    chunk.flatMap { [SQLValue.text($0.0), .text($0.1)] })
                for r in rows { indicatorIDs[try r.string(1) + "\u{1F}" + r.string(2)] = try r.int64(0) }
            }
            var scans: [[String]: ScanRecord] = [:]
            var order: [[String]] = []
            var sightings: [Sighting] = []
            sightings.reserveCapacity(uploads.count)
            for (i, u) in uploads.enumerated() {
                guard let id = indicatorIDs[u.indicatorKind + "\u{1F}" + u.indicatorValue] else {
                    throw StorageError(.rejectedUpload, "\(u.indicatorKind) \(u.indicatorValue) is not an indicator of this store's intel", item: i)
                }
                let group = [u.customerID, u.sensor, u.source]
                if var scan = scans[group] {
                    scan.firstTime = min(scan.firstTime ?? u.time, u.time)
                    scan.lastTime = max(scan.lastTime ?? u.time, u.time)
                    scan.records += 1
                    scan.observables += 1
                    scans[group] = scan
                } else {
                    order.append(group)
                    scans[group] = ScanRecord(
                        customerID: u.customerID, sensor: u.sensor, source: u.source, firstTime: u.time, lastTime: u.time, records: 1,
                        observables: 1, anomalies: [:])
                }
                sightings.append(Sighting(
                    indicatorID: id, customerID: u.customerID, sensor: u.sensor, time: u.time, evidence: u.evidence, key: u.key,
                    source: u.source, offset: u.offset, observed: u.observed))
            }
            do {
                return try insertScan(db, order.map { scans[$0]! }, sightings)
            } catch let error as StorageError where error.code == .unknownCustomer {
                let item = uploads.firstIndex { error.detail.hasSuffix(" \($0.customerID)") }
                throw StorageError(.rejectedUpload, error.detail, item: item)
            }
        }
    }

    /// `recordScan` inside the caller's transaction, for one or more scans
    /// (their sensor and scan rows) and the sightings they found.
    func insertScan(_ db: any SQLSession, _ scans: [ScanRecord], _ sightings: [Sighting]) throws -> Int {
        // Customer numbers: every customer named, looked up together (500 per query).
        var customerRows: [String: Int64] = [:]
        var named: [String] = []
        var seenCustomers = Set<String>()
        for id in scans.map(\.customerID) + sightings.map(\.customerID) where seenCustomers.insert(id).inserted { named.append(id) }
        for start in stride(from: 0, to: named.count, by: 500) {
            let chunk = named[start..<min(start + 500, named.count)]
            let rows = try db.rows(
                "SELECT id, n FROM customer WHERE id IN (" + Array(repeating: "?", count: chunk.count).joined(separator: ", ") + ")",
                chunk.map { .text($0) })
            for r in rows { customerRows[try r.string(0)] = try r.int64(1) }
        }
        if let unknown = named.first(where: { customerRows[$0] == nil }) {
            throw StorageError(.unknownCustomer, "unknown customer id \(unknown)")
        }
        func customerN(_ id: String) throws -> Int64 { customerRows[id]! }
        // Sensor and scan rows: one statement each for the whole call.
        var sensors: [[SQLValue]] = []
        var sensorSeen = Set<[String]>()
        var scanRows: [[SQLValue]] = []
        let now = Int64(Date().timeIntervalSince1970)
        for scan in scans {
            if sensorSeen.insert([scan.customerID, scan.sensor]).inserted { sensors.append([.text(scan.customerID), .text(scan.sensor)]) }
            let anomalies = JSONValue.object(scan.anomalies.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }).serialized()
            scanRows.append([
                .text(scan.customerID), .text(scan.sensor), .text(scan.source), .integer(now), .int(scan.firstTime?.nanoseconds),
                .int(scan.lastTime?.nanoseconds), .int(scan.records), .int(scan.observables), .text(anomalies),
            ])
        }
        for start in stride(from: 0, to: sensors.count, by: 1000) {
            _ = try db.insertRows(
                into: "sensor", columns: ["customer_id", "name"], rows: Array(sensors[start..<min(start + 1000, sensors.count)]),
                suffix: "ON CONFLICT DO NOTHING")
        }
        let scanColumns = ["customer_id", "sensor", "source", "scanned_at", "first_time", "last_time", "records", "observables", "anomalies"]
        // A scan without records has no times (NULL), which bulk inserts do not take.
        let (bulk, single) = (scanRows.filter { !$0.contains(.null) }, scanRows.filter { $0.contains(.null) })
        for start in stride(from: 0, to: bulk.count, by: 1000) {
            _ = try db.insertRows(into: "scan", columns: scanColumns, rows: Array(bulk[start..<min(start + 1000, bulk.count)]), suffix: "")
        }
        for row in single {
            try db.execute(
                "INSERT INTO scan (\(scanColumns.joined(separator: ", "))) VALUES (" + Array(repeating: "?", count: scanColumns.count).joined(separator: ", ") + ")",
                row)
        }
        let columns = """
            INSERT INTO sighting (indicator_id, customer_id, sensor, time, evidence, key, source, "offset", observed, customer_n, identity)
            VALUES
            """
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        let holder = "SELECT indicator_id, customer_id, sensor, evidence, key, time FROM sighting WHERE identity = ?"
        let identityKey = try Self.identityKey(db)
        func values(_ s: Sighting, _ n: Int64, _ h: Int64) -> [SQLValue] {
            [.integer(s.indicatorID), .text(s.customerID), .text(s.sensor), .integer(s.time.nanoseconds), .text(s.evidence.rawValue),
             .text(s.key), .text(s.source), .int(s.offset), .text(s.observed), .integer(n), .integer(h)]
        }
        var packed: [SightingPack.Record] = []
        // Batches of multi-row inserts (`sightingBatch`); a row the batch did not
        // insert is a sighting stored before, or a hash collision, and is
        // settled on its own below.
        var start = 0
        while start < sightings.count {
            let batch = sightings[start..<min(start + Self.sightingBatch(db.dialect), sightings.count)]
            start = batch.endIndex
            var hashes: [(Sighting, Int64, Int64)] = []
            var arguments: [SQLValue] = []
            for s in batch {
                let n = try customerN(s.customerID)
                let h = Self.identityHash(
                    key: identityKey, indicatorID: s.indicatorID, customerID: s.customerID, sensor: s.sensor, evidence: s.evidence.rawValue,
                    key: s.key, time: s.time.nanoseconds)
                hashes.append((s, n, h))
                arguments += values(s, n, h)
            }
            var inserted: [Int64: Int64] = [:]  // identity → new id
            if batch.count == 1 {
                inserted[hashes[0].2] = try db.insert(columns + row + " ON CONFLICT(identity) DO NOTHING", arguments)
            } else {
                let rows = stride(from: 0, to: arguments.count, by: Self.sightingColumns.count).map {
                    Array(arguments[$0..<$0 + Self.sightingColumns.count])
                }
                for r in try db.insertRows(
                    into: "sighting", columns: Self.sightingColumns, rows: rows, suffix: "ON CONFLICT(identity) DO NOTHING RETURNING identity, id") {
                    inserted[try r.int64(0)] = try r.int64(1)
                }
            }
            for (s, n, first) in hashes {
                if let id = inserted.removeValue(forKey: first) {
                    packed.append(try SightingPack.Record(time: s.time.nanoseconds, sighting: id, indicatorID: s.indicatorID, customerN: n))
                    continue
                }
                var h = first
                while true {
                    // The hash is taken: by this very sighting (a re-scan adds nothing)
                    // or, very rarely, by another one (a collision: probe the next value).
                    guard let r = try db.row(holder, [.integer(h)]) else {
                        let id = try db.insert(columns + row, values(s, n, h))!
                        packed.append(try SightingPack.Record(time: s.time.nanoseconds, sighting: id, indicatorID: s.indicatorID, customerN: n))
                        break
                    }
                    if try r.int64(0) == s.indicatorID && r.string(1) == s.customerID && r.string(2) == s.sensor
                        && r.string(3) == s.evidence.rawValue && r.string(4) == s.key && r.int64(5) == s.time.nanoseconds {
                        break
                    }
                    h &+= 1
                }
            }
        }
        try didInsertSightings(packed, in: db)
        return packed.count
    }

    /// Sightings per insert statement. PostgreSQL: 4,096 (one round trip and
    /// one plan each: `SQLSession.insertRows`). SQLite: 1 (no round trips to save;
    /// a multi-row insert needs RETURNING to learn its ids, which SQLite
    /// builds a temporary table for on every execution: measured at 1 M,
    /// 256-row batches stored 38k sightings/s, one-row inserts with
    /// `SQLSession.insert` 58k).
    static func sightingBatch(_ dialect: SQLDialect) -> Int {
        switch dialect {
        case .postgres: 4096
        case .sqlite: 1
        }
    }

    /// `sighting`'s columns in the order `insertScan` gives their values.
    static var sightingColumns: [String] {
        ["indicator_id", "customer_id", "sensor", "time", "evidence", "key", "source", "\"offset\"", "observed", "customer_n", "identity"]
    }

    /// The SPEC §3 identity of a sighting as one stored integer: SipHash-2-4
    /// of its fields under this database's secret key (`setting`
    /// `identity.key`, drawn when the table was made), so traffic cannot be
    /// crafted to collide; equal identities give equal hashes, and the rare
    /// collision of different ones is resolved by probing on insert.
    static func identityHash(
        key identityKey: (UInt64, UInt64), indicatorID: Int64, customerID: String, sensor: String, evidence: String, key: String,
        time: Int64
    ) -> Int64 {
        let text = "\(indicatorID)\u{1F}\(customerID)\u{1F}\(sensor)\u{1F}\(evidence)\u{1F}\(key)\u{1F}\(time)"
        return Int64(bitPattern: StableHash.sipHash24(Array(text.utf8), k0: identityKey.0, k1: identityKey.1))
    }

    /// This database's identity-hash key, drawn at random the first time.
    static func identityKey(_ db: any SQLSession) throws -> (UInt64, UInt64) {
        if let hex = try db.string("SELECT value FROM setting WHERE name = 'identity.key'") {
            // A damaged key is an error: a new one would make every stored identity unrecognisable.
            guard hex.count == 32, let k0 = UInt64(hex.prefix(16), radix: 16), let k1 = UInt64(hex.suffix(16), radix: 16) else {
                throw StorageError(.database, "setting identity.key is damaged; sightings could no longer be recognised, so nothing is written")
            }
            return (k0, k1)
        }
        var rng = SystemRandomNumberGenerator()
        let key = (rng.next() as UInt64, rng.next() as UInt64)
        try db.execute(
            "INSERT INTO setting (name, value) VALUES ('identity.key', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [.text(StableHash.hex(key.0) + StableHash.hex(key.1))])
        return key
    }

    /// `identityHash` with this database's key (for tests that stage a collision).
    package func identityHash(indicatorID: Int64, customerID: String, sensor: String, evidence: String, key: String, time: Int64) throws(StorageError) -> Int64 {
        try write { db in
            Self.identityHash(
                key: try Self.identityKey(db), indicatorID: indicatorID, customerID: customerID, sensor: sensor, evidence: evidence,
                key: key, time: time)
        }
    }

    package func hasSightings() throws(StorageError) -> Bool {
        try read { db in try db.row("SELECT 1 FROM sighting LIMIT 1") != nil }
    }

    package func sightingCount() throws(StorageError) -> Int {
        try read { db in Int(try db.int64("SELECT COUNT(*) FROM sighting") ?? 0) }
    }
}

/// One sighting as a sensor ships it (the NDJSON of `geneva sightings`):
/// its indicator by kind and normalised value, not by this store's id.
package struct SightingUpload: Sendable, Hashable {
    package var indicatorKind: String
    package var indicatorValue: String
    package var customerID: String
    package var sensor: String
    package var time: Timestamp
    package var evidence: Evidence
    package var key: String
    package var source: String
    package var offset: Int64
    package var observed: String

    package init(
        indicatorKind: String, indicatorValue: String, customerID: String, sensor: String, time: Timestamp, evidence: Evidence, key: String,
        source: String, offset: Int64, observed: String
    ) {
        self.indicatorKind = indicatorKind
        self.indicatorValue = indicatorValue
        self.customerID = customerID
        self.sensor = sensor
        self.time = time
        self.evidence = evidence
        self.key = key
        self.source = source
        self.offset = offset
        self.observed = observed
    }
}

extension SightingUpload {
    /// Longest text field an upload may carry, in bytes.
    package static let maxFieldBytes = 4096

    /// Why `text` cannot be a field of an upload (empty, too long, a control
    /// character: NUL above all, which PostgreSQL's text cannot hold), or nil.
    package static func fieldProblem(_ text: String) -> String? {
        if text.isEmpty || text.utf8.count > maxFieldBytes { return "empty or longer than \(maxFieldBytes) bytes" }
        if text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "holds a control character" }
        return nil
    }

    /// The first field `POST /v1/sightings` would refuse, with why; nil if none.
    package var unshippable: String? {
        let fields = [
            ("indicator.kind", indicatorKind), ("indicator.value", indicatorValue), ("customer", customerID), ("sensor", sensor),
            (evidence.rawValue.hasPrefix("maillog") ? "message" : "flow", key), ("source", source), ("observed", observed),
        ]
        for (name, value) in fields {
            if let problem = Self.fieldProblem(value) { return "\(name): \(problem)" }
        }
        return nil
    }

    /// The sighting as one line of a `POST /v1/sightings` body (no newline),
    /// in the shape `geneva sightings --format ndjson` prints: what the API's
    /// upload parser reads back (`geneva sensor` ships these).
    package var ndjsonLine: String {
        JSONValue.object([
            ("time", .string(time.rfc3339)), ("customer", .string(customerID)), ("sensor", .string(sensor)),
            ("indicator", .object([("kind", .string(indicatorKind)), ("value", .string(indicatorValue))])),
            ("evidence", .string(evidence.rawValue)), (evidence.rawValue.hasPrefix("maillog") ? "message" : "flow", .string(key)),
            ("observed", .string(observed)), ("source", .string(source)), ("offset", .int(Int(offset))),
        ]).serialized()
    }
}
