import Foundation
import GRDB
import TelemetryModel

/// The embedded store: SQLite through GRDB, in WAL mode, schema by
/// migrations. Every import or scan of one file is one transaction, so a
/// failure (or a kill) leaves either all of that file or none of it.
package final class SQLiteStore: GenevaStore {
    let pool: DatabasePool
    package let path: String

    package var location: String { path }

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

    package func write<T>(_ body: (any SQLSession) throws -> T) throws(StorageError) -> T {
        try writeDatabase { db in try body(GRDBSession(db: db)) }
    }

    package func read<T>(_ body: (any SQLSession) throws -> T) throws(StorageError) -> T {
        try readDatabase { db in try body(GRDBSession(db: db)) }
    }

    /// New sightings are copied into the report's packs in the same transaction.
    package func didInsertSightings(_ records: [SightingPack.Record], in session: any SQLSession) throws {
        guard let grdb = session as? GRDBSession else { throw StorageError(.database, "a SQLite store was handed a foreign session") }
        try SightingPack.append(grdb.db, records)
    }

    /// Runs one statement as is. For tests that stage what the API cannot
    /// produce (a hash collision); never used by the program.
    package func executeForTesting(_ sql: String, arguments: StatementArguments = []) throws(StorageError) {
        try writeDatabase { db in try db.execute(sql: sql, arguments: arguments) }
    }

    // MARK: Plumbing

    func writeDatabase<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        try storageErrors { try pool.write(body) }
    }

    func readDatabase<T>(_ body: (Database) throws -> T) throws(StorageError) -> T {
        try storageErrors { try pool.read(body) }
    }

    /// Runs `access`, turning GRDB's errors into `StorageError`s naming the file.
    private func storageErrors<T>(_ access: () throws -> T) throws(StorageError) -> T {
        do {
            return try access()
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

extension SQLiteStore {
    /// `sightings(window:customerID:campaignID:)`: a customer's or a
    /// campaign's sightings are found by scanning the packs (no per-customer
    /// or per-indicator index to slow ingest down), then read by id;
    /// attributions come from the intel in memory (as the report's), not
    /// joined per row.
    package func sightingRows(window: TimeWindow, customerID: String?, campaignID: String?) throws(StorageError) -> [SightingRow] {
        try readDatabase { database in
            let db = GRDBSession(db: database)
            let scan = try ReportScan(db)
            func makeRow(_ row: SQLRow) throws -> SightingRow? {
                try SQLiteStore.sightingRow(row, campaignID: campaignID) { scan.attributions(sid: $0, time: $1, indicator: Int($2)) }
            }
            let select = SQLiteStore.sightingSelect
            guard customerID != nil || campaignID != nil else {
                return try db.rows(select + " WHERE s.time >= ? AND s.time < ? ORDER BY s.time, s.id", SQLiteStore.windowArguments(window))
                    .compactMap(makeRow)
            }
            var customerN: Int32? = nil
            if let customerID {
                guard let n = try db.int64("SELECT n FROM customer WHERE id = ?", [.text(customerID)]), let narrow = Int32(exactly: n) else { return [] }
                customerN = narrow
            }
            var indicators: Set<Int32>? = nil
            var clustered: Set<Int64> = []
            if let campaignID {
                indicators = Set(try db.rows("""
                    SELECT DISTINCT e.indicator_id FROM intel_entry e JOIN campaign cp ON cp.id = e.campaign_id WHERE cp.key = ?
                    """, [.text(campaignID)]).compactMap { Int32(exactly: try $0.int64(0)) })
                clustered = Set(try db.rows("""
                    SELECT cs.sighting_id FROM cluster_sighting cs JOIN campaign cp ON cp.id = cs.campaign_id WHERE cp.key = ?
                    """, [.text(campaignID)]).map { try $0.int64(0) })
            }
            let ids = try SightingPack.sightingIDs(
                database, since: window.since?.nanoseconds ?? .min, until: window.until?.nanoseconds ?? .max,
                customer: customerN, indicators: indicators, orSightings: clustered)
            var rows: [SightingRow] = []
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(start + 500, ids.count)]
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                rows += try db.rows(select + " WHERE s.id IN (\(marks))", chunk.map { .integer($0) }).compactMap(makeRow)
            }
            return rows.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        }
    }
}
