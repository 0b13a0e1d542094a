import Foundation
import GRDB
import TelemetryModel
import WireParsing

/// The embedded store: SQLite through GRDB, in WAL mode, schema by
/// migrations. Every import or scan of one file is one transaction, so a
/// failure (or a kill) leaves either all of that file or none of it.
package final class GenevaStore: Sendable {
    let pool: DatabasePool
    package let path: String

    /// Opens (creating if needed) the database at `path` and migrates it
    /// (up to `migration` for tests of upgrades; to the newest otherwise).
    package init(path: String, upTo migration: String? = nil) throws(StorageError) {
        self.path = path
        do {
            var config = Configuration()
            config.foreignKeysEnabled = true
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                // WAL with synchronous=NORMAL stays consistent after a crash or a
                // kill; only the last commits may be lost on power failure.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Page cache: 256 MiB for the one writer (keeps the indicator and sighting
                // indexes hot during bulk imports and scans: 42k → ~50k sightings/s at 1 M),
                // 64 MiB for each reader (reads go through the memory map below).
                try db.execute(sql: db.configuration.readonly ? "PRAGMA cache_size = -65536" : "PRAGMA cache_size = -262144")
                if !db.configuration.readonly {
                    // Checkpoint the WAL every 64 MiB instead of 4 MiB: index pages dirtied by
                    // consecutive scans are copied back once, not once per transaction.
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
                }
                // Reads through a memory map (up to SQLite's 2 GiB default cap): the
                // report's scans share the OS page cache instead of copying pages into
                // each connection's own cache.
                try db.execute(sql: "PRAGMA mmap_size = 2147418112")
            }
            pool = try DatabasePool(path: path, configuration: config)
            if let migration {
                try Schema.migrator.migrate(pool, upTo: migration)
            } else {
                try Schema.migrator.migrate(pool)
            }
        } catch {
            throw StorageError(.cannotOpen, "cannot open database \(path): \(StorageError.describe(error))")
        }
    }

    // MARK: Customers

    package struct CustomerImportSummary: Equatable, Sendable {
        package var inserted: Int
        package var updated: Int
    }

    /// Upserts customers by id in one transaction.
    package func importCustomers(_ customers: [Customer]) throws(StorageError) -> CustomerImportSummary {
        try write { db in
            var summary = CustomerImportSummary(inserted: 0, updated: 0)
            for c in customers {
                let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE id = ?", arguments: [c.id]) ?? false
                try db.execute(
                    sql: """
                        INSERT INTO customer (id, name, country, sector, n) VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(n), 0) + 1 FROM customer))
                        ON CONFLICT(id) DO UPDATE SET name = excluded.name, country = excluded.country, sector = excluded.sector
                        """,
                    arguments: [c.id, c.name, c.country.code, c.sector])
                if exists { summary.updated += 1 } else { summary.inserted += 1 }
            }
            return summary
        }
    }

    package func customer(id: String) throws(StorageError) -> Customer? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, name, country, sector FROM customer WHERE id = ?", arguments: [id]),
                let country = CountryCode(row["country"] as String)
            else { return nil }
            return Customer(id: row["id"], name: row["name"], country: country, sector: row["sector"])
        }
    }

    // MARK: Intel

    package struct IntelImportSummary: Equatable, Sendable {
        package var records: Int
        package var newIndicators: Int
        package var actors: Int
        package var campaigns: Int
        /// Rows whose actor country disagreed with the one already stored (kept).
        package var conflictingActorCountries: Int
    }

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
            try db.execute(
                sql: """
                    INSERT INTO intel_source (name, format, imported_at) VALUES (?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET format = excluded.format, imported_at = excluded.imported_at
                    """,
                arguments: [source, format, Int64(Date().timeIntervalSince1970)])
            let sourceID = try Int64.fetchOne(db, sql: "SELECT id FROM intel_source WHERE name = ?", arguments: [source])!
            for table in ["intel_entry", "intel_skip", "actor_source", "campaign_source"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE source_id = ?", arguments: [sourceID])
            }

            var resolver = ActorResolver(sourceID: sourceID)
            for actor in actors where try resolver.upsert(db, actor).conflict {
                summary.conflictingActorCountries += 1
            }
            var campaignIDs: [String: Int64] = [:]
            for campaign in campaigns {
                var actorID: Int64? = nil
                if let name = campaign.actor { actorID = try resolver.upsert(db, ActorStatement(name: name)).id }
                campaignIDs[campaign.name.lowercased()] = try upsertCampaign(db, name: campaign.name, actorID: actorID, sourceID: sourceID)
            }

            // Bulk path: every statement below runs prepared statements only,
            // and actors, campaigns and indicators are resolved once per import.
            var indicatorIDs: [IndicatorKey: Int64] = [:]
            var actorIDs: [ActorKey: (id: Int64, conflict: Bool)] = [:]
            var campaignActorsSet = Set<[Int64]>()
            let selectIndicator = try db.makeStatement(sql: "SELECT id FROM indicator WHERE kind = ? AND value = ?")
            let insertIndicator = try db.makeStatement(sql: "INSERT INTO indicator (kind, value) VALUES (?, ?)")
            let insertEntry = try db.makeStatement(sql: """
                INSERT INTO intel_entry (indicator_id, source_id, actor_id, campaign_id, valid_from, valid_until, confidence, report)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let setCampaignActor = try db.makeStatement(sql: "UPDATE campaign SET actor_id = ? WHERE id = ? AND actor_id IS NULL")
            var seenEntries = Set<EntryKey>()

            for s in statements {
                let key = IndicatorKey(kind: s.kind, value: s.value)
                let indicatorID: Int64
                if let id = indicatorIDs[key] {
                    indicatorID = id
                } else if let id = try Int64.fetchOne(selectIndicator, arguments: [s.kind.rawValue, s.value]) {
                    indicatorID = id
                    indicatorIDs[key] = id
                } else {
                    try insertIndicator.execute(arguments: [s.kind.rawValue, s.value])
                    summary.newIndicators += 1
                    indicatorID = db.lastInsertedRowID
                    indicatorIDs[key] = indicatorID
                }
                var actorID: Int64? = nil
                if let actor = s.actor {
                    let actorKey = ActorKey(name: actor.lowercased(), country: s.actorCountry?.code)
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
                    if let id = campaignIDs[campaign.lowercased()] {
                        campaignID = id
                    } else {
                        let id = try upsertCampaign(db, name: campaign, actorID: actorID, sourceID: sourceID)
                        campaignIDs[campaign.lowercased()] = id
                        campaignID = id
                    }
                    if let actorID, let campaignID, campaignActorsSet.insert([campaignID, actorID]).inserted {
                        try setCampaignActor.execute(arguments: [actorID, campaignID])
                    }
                }
                let from = s.validFrom?.nanoseconds ?? Int64.min
                let entryKey = EntryKey(
                    indicator: indicatorID, actor: actorID, campaign: campaignID, from: from, until: s.validUntil?.nanoseconds,
                    confidence: s.confidence, report: s.report)
                guard seenEntries.insert(entryKey).inserted else { continue }  // a repeated row says nothing new
                try insertEntry.execute(arguments: [indicatorID, sourceID, actorID, campaignID, from, s.validUntil?.nanoseconds, s.confidence, s.report])
            }
            for (reason, count) in skipped where count > 0 {
                try db.execute(sql: "INSERT INTO intel_skip (source_id, reason, count) VALUES (?, ?, ?)", arguments: [sourceID, reason, count])
            }
            // An actor's country is the first one any of its sources gives, so
            // re-importing or dropping a source keeps it consistent.
            try db.execute(sql: """
                UPDATE actor SET country = (
                    SELECT country FROM actor_source WHERE actor_id = actor.id AND country IS NOT NULL ORDER BY source_id LIMIT 1)
                WHERE EXISTS (SELECT 1 FROM actor_source WHERE actor_id = actor.id)
                """)
            summary.actors = resolver.touched.count
            summary.campaigns = Set(campaignIDs.values).count
            return summary
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

    private func upsertCampaign(_ db: Database, name: String, actorID: Int64?, sourceID: Int64) throws -> Int64 {
        let id: Int64
        if let row = try Row.fetchOne(db, sql: "SELECT id, actor_id FROM campaign WHERE name = ?", arguments: [name]) {
            id = row["id"]
            let stored: Int64? = row["actor_id"]
            if stored == nil, let actorID {
                try db.execute(sql: "UPDATE campaign SET actor_id = ? WHERE id = ?", arguments: [actorID, id])
            }
        } else {
            let base = "intel-" + GenevaStore.slug(name)
            var key = base
            var n = 2
            while try Bool.fetchOne(db, sql: "SELECT 1 FROM campaign WHERE key = ?", arguments: [key]) ?? false {
                key = "\(base)-\(n)"
                n += 1
            }
            try db.execute(
                sql: "INSERT INTO campaign (key, name, origin, actor_id) VALUES (?, ?, 'intel', ?)",
                arguments: [key, name, actorID])
            id = db.lastInsertedRowID
        }
        try db.execute(sql: "INSERT INTO campaign_source (campaign_id, source_id) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [id, sourceID])
        return id
    }

    /// A stable, readable id fragment: lower-case ASCII letters and digits,
    /// other runs collapsed to `-`.
    package static func slug(_ name: String) -> String {
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

    /// One intel entry as the matcher needs it.
    package typealias IndicatorEntryRow = (indicatorID: Int64, kind: IndicatorKind, value: String, validFrom: Timestamp, validUntil: Timestamp?)

    /// Calls `body` for every intel entry, streaming from the database so a
    /// million entries never sit in one array (for building an
    /// `IndicatorSet` snapshot).
    package func forEachIndicatorEntry(_ body: (IndicatorEntryRow) throws -> Void) throws(StorageError) {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT i.id, i.kind, i.value, e.valid_from, e.valid_until
                FROM intel_entry e JOIN indicator i ON i.id = e.indicator_id
                """)
            while let row = try rows.next() {
                guard let kind = IndicatorKind(rawValue: row[1]) else { continue }
                let until: Int64? = row[4]
                try body((row[0], kind, row[2], Timestamp(nanoseconds: row[3]), until.map(Timestamp.init(nanoseconds:))))
            }
        }
    }

    /// Every intel entry, in one array (small stores and tests).
    package func indicatorEntries() throws(StorageError) -> [IndicatorEntryRow] {
        var result: [IndicatorEntryRow] = []
        try forEachIndicatorEntry { result.append($0) }
        return result
    }

    // MARK: Scans and sightings

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

    /// Writes one scanned file's sightings in one transaction; returns how
    /// many were new (sightings already stored are ignored by identity).
    package func recordScan(_ scan: ScanRecord, sightings: [Sighting]) throws(StorageError) -> Int {
        try write { db in
            guard let customerN = try Int64.fetchOne(db, sql: "SELECT n FROM customer WHERE id = ?", arguments: [scan.customerID]) else {
                throw StorageError(.unknownCustomer, "unknown customer id \(scan.customerID)")
            }
            try db.execute(
                sql: "INSERT INTO sensor (customer_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                arguments: [scan.customerID, scan.sensor])
            let anomalies = JSONValue.object(scan.anomalies.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }).serialized()
            try db.execute(
                sql: """
                    INSERT INTO scan (customer_id, sensor, source, scanned_at, first_time, last_time, records, observables, anomalies)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    scan.customerID, scan.sensor, scan.source, Int64(Date().timeIntervalSince1970),
                    scan.firstTime?.nanoseconds, scan.lastTime?.nanoseconds, scan.records, scan.observables, anomalies,
                ])
            let insert = try db.cachedStatement(sql: """
                INSERT INTO sighting (indicator_id, customer_id, sensor, time, evidence, key, source, offset, observed, customer_n, identity)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(identity) DO NOTHING
                """)
            let holder = try db.cachedStatement(sql: """
                SELECT indicator_id, customer_id, sensor, evidence, key, time FROM sighting WHERE identity = ?
                """)
            var inserted = 0
            var packed: [SightingPack.Record] = []
            let identityKey = try GenevaStore.identityKey(db)
            // Sightings normally belong to the scan's customer; others are looked up once.
            var customerRows = [scan.customerID: customerN]
            for s in sightings {
                var rowN = customerRows[s.customerID]
                if rowN == nil {
                    rowN = try Int64.fetchOne(db, sql: "SELECT n FROM customer WHERE id = ?", arguments: [s.customerID])
                    guard let found = rowN else { throw StorageError(.unknownCustomer, "unknown customer id \(s.customerID)") }
                    customerRows[s.customerID] = found
                }
                var h = GenevaStore.identityHash(
                    key: identityKey, indicatorID: s.indicatorID, customerID: s.customerID, sensor: s.sensor, evidence: s.evidence.rawValue, key: s.key,
                    time: s.time.nanoseconds)
                while true {
                    try insert.execute(arguments: [
                        s.indicatorID, s.customerID, s.sensor, s.time.nanoseconds, s.evidence.rawValue, s.key, s.source, s.offset, s.observed,
                        rowN, h,
                    ])
                    if db.changesCount > 0 {
                        inserted += 1
                        packed.append(try SightingPack.Record(
                            time: s.time.nanoseconds, sighting: db.lastInsertedRowID, indicatorID: s.indicatorID, customerN: rowN!))
                        break
                    }
                    // The hash is taken: by this very sighting (a re-scan adds nothing)
                    // or, very rarely, by another one (a collision: probe the next value).
                    guard let r = try Row.fetchOne(holder, arguments: [h]) else { break }
                    if r[0] == s.indicatorID && r[1] == s.customerID && r[2] == s.sensor && r[3] == s.evidence.rawValue
                        && r[4] == s.key && r[5] == s.time.nanoseconds {
                        break
                    }
                    h &+= 1
                }
            }
            try SightingPack.append(db, packed)
            return inserted
        }
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
    static func identityKey(_ db: Database) throws -> (UInt64, UInt64) {
        if let hex = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'identity.key'"), hex.count == 32,
           let k0 = UInt64(hex.prefix(16), radix: 16), let k1 = UInt64(hex.suffix(16), radix: 16) {
            return (k0, k1)
        }
        var rng = SystemRandomNumberGenerator()
        let key = (rng.next() as UInt64, rng.next() as UInt64)
        try db.execute(
            sql: "INSERT INTO setting (name, value) VALUES ('identity.key', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            arguments: [StableHash.hex(key.0) + StableHash.hex(key.1)])
        return key
    }

    /// `identityHash` with this database's key (for tests that stage a collision).
    package func identityHash(indicatorID: Int64, customerID: String, sensor: String, evidence: String, key: String, time: Int64) throws(StorageError) -> Int64 {
        try write { db in
            GenevaStore.identityHash(
                key: try GenevaStore.identityKey(db), indicatorID: indicatorID, customerID: customerID, sensor: sensor, evidence: evidence,
                key: key, time: time)
        }
    }

    /// Runs one statement as is. For tests that stage what the API cannot
    /// produce (a hash collision); never used by the program.
    package func executeForTesting(_ sql: String, arguments: StatementArguments = []) throws(StorageError) {
        try write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    package func hasSightings() throws(StorageError) -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sighting)") ?? false }
    }

    package func sightingCount() throws(StorageError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sighting") ?? 0 }
    }

    // MARK: Plumbing

    func write<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        do {
            return try pool.write(body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.database, "database \(path): \(StorageError.describe(error))")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        do {
            return try pool.read(body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.database, "database \(path): \(StorageError.describe(error))")
        }
    }
}

extension StorageError {
    static func describe(_ error: any Error) -> String {
        if let db = error as? DatabaseError {
            return db.message ?? "\(db.resultCode)"
        }
        return "\(error)"
    }
}
