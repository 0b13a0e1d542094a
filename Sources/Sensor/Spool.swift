import Foundation
import GRDB
import Storage
import TelemetryModel

/// The sensor's local SQLite spool: sightings waiting to be shipped, and the
/// read positions of its sources. Each write is one transaction that stores a
/// source's sightings together with the position it read up to, so a sensor
/// killed at any moment restarts exactly where its last commit left off:
/// no line or file is read twice, none is skipped.
package final class Spool: Sendable {
    package let path: String
    private let queue: DatabaseQueue

    /// Where a followed log was read up to: the file (device and inode,
    /// and a hash of its first bytes, which tells a reused inode or a file
    /// truncated and regrown from the one read), the byte offset after the
    /// last complete line, and lines read so far.
    package struct LogPosition: Sendable, Equatable {
        package var device: UInt64
        package var inode: UInt64
        package var offset: Int64
        package var lines: Int64
        /// How many first bytes `headHash` covers (up to 1 KiB; 0: none read yet).
        package var headLength: Int64
        package var headHash: Int64

        package init(device: UInt64, inode: UInt64, offset: Int64, lines: Int64, headLength: Int64 = 0, headHash: Int64 = 0) {
            self.device = device
            self.inode = inode
            self.offset = offset
            self.lines = lines
            self.headLength = headLength
            self.headHash = headHash
        }
    }

    /// A capture file of a watched directory, identified as it was scanned.
    package struct ScannedFile: Sendable, Equatable {
        package var path: String
        package var size: Int64
        package var modified: Int64
    }

    /// One spooled sighting and its row id (acknowledged by id).
    package struct Entry: Sendable {
        package var id: Int64
        package var upload: SightingUpload
        package var spooledAt: Double
    }

    package init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL + synchronous=NORMAL: a commit survives a kill of the process.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            // Frozen: a spool made by an earlier build has run them.
            migrator.registerMigration("spool-1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE sighting (
                            id INTEGER PRIMARY KEY,
                            kind TEXT NOT NULL, value TEXT NOT NULL, customer TEXT NOT NULL, sensor TEXT NOT NULL,
                            time INTEGER NOT NULL, evidence TEXT NOT NULL, key TEXT NOT NULL,
                            source TEXT NOT NULL, "offset" INTEGER NOT NULL, observed TEXT NOT NULL,
                            spooled REAL NOT NULL,
                            UNIQUE (kind, value, customer, sensor, evidence, key, time)
                        );
                        CREATE TABLE log_position (
                            path TEXT PRIMARY KEY, device INTEGER NOT NULL, inode INTEGER NOT NULL,
                            "offset" INTEGER NOT NULL, lines INTEGER NOT NULL
                        );
                        CREATE TABLE scanned_file (
                            path TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER NOT NULL,
                            scanned REAL NOT NULL, summary TEXT NOT NULL
                        );
                        """)
            }
            migrator.registerMigration("spool-2") { db in
                try db.execute(
                    sql: """
                        -- A hash of the followed file's first bytes (0 bytes: match by inode).
                        ALTER TABLE log_position ADD COLUMN head_length INTEGER NOT NULL DEFAULT 0;
                        ALTER TABLE log_position ADD COLUMN head_hash INTEGER NOT NULL DEFAULT 0;
                        -- Sightings set aside: refused for good by the receiver (retry = 1:
                        -- queued again on start and intel reload), or breaking the upload
                        -- rules (retry = 0: kept as evidence of what was seen, never shipped).
                        CREATE TABLE rejected (
                            id INTEGER PRIMARY KEY,
                            kind TEXT NOT NULL, value TEXT NOT NULL, customer TEXT NOT NULL, sensor TEXT NOT NULL,
                            time INTEGER NOT NULL, evidence TEXT NOT NULL, key TEXT NOT NULL,
                            source TEXT NOT NULL, "offset" INTEGER NOT NULL, observed TEXT NOT NULL,
                            spooled REAL NOT NULL, reason TEXT NOT NULL, rejected_at REAL NOT NULL, retry INTEGER NOT NULL,
                            UNIQUE (kind, value, customer, sensor, evidence, key, time)
                        );
                        """)
            }
            try migrator.migrate(queue)
        } catch {
            throw SensorError("cannot open the spool \(path): \(error)")
        }
    }

    /// Stores sightings (a sighting already spooled is ignored) and, in the
    /// same transaction, the position of the log they were read from or the
    /// capture file they came from. Returns how many were new.
    @discardableResult
    package func append(
        _ sightings: [SightingUpload], log: (path: String, position: LogPosition)? = nil,
        scanned: (file: ScannedFile, summary: String)? = nil
    ) throws -> Int {
        let now = Date().timeIntervalSince1970
        do {
            return try queue.write { db in
                var added = 0
                let insert = try db.cachedStatement(
                    sql: """
                        INSERT OR IGNORE INTO sighting (kind, value, customer, sensor, time, evidence, key, source, "offset", observed, spooled)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                let aside = try db.cachedStatement(
                    sql: """
                        INSERT OR IGNORE INTO rejected
                            (kind, value, customer, sensor, time, evidence, key, source, "offset", observed, spooled, reason, rejected_at, retry)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                        """)
                for s in sightings {
                    // What the receiver would refuse (a 5,000-byte Host header
                    // that ends in an indicator) is set aside at once, so that it
                    // never blocks the queue.
                    if let problem = s.unshippable {
                        try aside.execute(arguments: [
                            s.indicatorKind, s.indicatorValue, s.customerID, s.sensor, s.time.nanoseconds, s.evidence.rawValue,
                            s.key, s.source, s.offset, s.observed, now, problem, now,
                        ])
                        continue
                    }
                    try insert.execute(arguments: [
                        s.indicatorKind, s.indicatorValue, s.customerID, s.sensor, s.time.nanoseconds, s.evidence.rawValue, s.key,
                        s.source, s.offset, s.observed, now,
                    ])
                    added += db.changesCount
                }
                if let (path, p) = log {
                    try db.execute(
                        sql: """
                            INSERT INTO log_position (path, device, inode, "offset", lines, head_length, head_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
                            ON CONFLICT (path) DO UPDATE SET device = excluded.device, inode = excluded.inode,
                                "offset" = excluded."offset", lines = excluded.lines,
                                head_length = excluded.head_length, head_hash = excluded.head_hash
                            """,
                        arguments: [path, Int64(bitPattern: p.device), Int64(bitPattern: p.inode), p.offset, p.lines, p.headLength, p.headHash])
                }
                if let (file, summary) = scanned {
                    try db.execute(
                        sql: """
                            INSERT INTO scanned_file (path, size, modified, scanned, summary) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT (path) DO UPDATE SET size = excluded.size, modified = excluded.modified,
                                scanned = excluded.scanned, summary = excluded.summary
                            """,
                        arguments: [file.path, file.size, file.modified, now, summary])
                }
                return added
            }
        } catch {
            throw SensorError("spool \(path): write failed: \(error)")
        }
    }

    package func logPosition(_ path: String) throws -> LogPosition? {
        do {
            return try queue.read { db in
                try Row.fetchOne(
                    db, sql: "SELECT device, inode, \"offset\", lines, head_length, head_hash FROM log_position WHERE path = ?", arguments: [path]
                ).map {
                    LogPosition(
                        device: UInt64(bitPattern: $0[0] as Int64), inode: UInt64(bitPattern: $0[1] as Int64), offset: $0[2], lines: $0[3],
                        headLength: $0[4], headHash: $0[5])
                }
            }
        } catch {
            throw SensorError("spool \(path): read failed: \(error)")
        }
    }

    package func scannedFile(_ path: String) throws -> ScannedFile? {
        do {
            return try queue.read { db in
                try Row.fetchOne(db, sql: "SELECT size, modified FROM scanned_file WHERE path = ?", arguments: [path]).map {
                    ScannedFile(path: path, size: $0[0], modified: $0[1])
                }
            }
        } catch {
            throw SensorError("spool \(path): read failed: \(error)")
        }
    }

    /// The oldest spooled sightings, in spool order. A row that cannot be
    /// read back (an evidence kind this version does not know) is set aside.
    package func oldest(_ limit: Int) throws -> [Entry] {
        do {
            return try queue.write { db in
                var entries: [Entry] = []
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, kind, value, customer, sensor, time, evidence, key, source, "offset", observed, spooled
                        FROM sighting ORDER BY id LIMIT ?
                        """, arguments: [limit])
                {
                    guard let evidence = Evidence(rawValue: row[6]) else {
                        try Self.setAside(db, ids: [row[0]], reason: "unknown evidence kind \(String(describing: row[6] as String?))")
                        continue
                    }
                    entries.append(Entry(
                        id: row[0],
                        upload: SightingUpload(
                            indicatorKind: row[1], indicatorValue: row[2], customerID: row[3], sensor: row[4],
                            time: Timestamp(nanoseconds: row[5]), evidence: evidence, key: row[7], source: row[8], offset: row[9],
                            observed: row[10]),
                        spooledAt: row[11]))
                }
                return entries
            }
        } catch {
            throw SensorError("spool \(path): read failed: \(error)")
        }
    }

    /// Moves sightings the receiver refused for good to `rejected`, with why.
    package func setAside(ids: [Int64], reason: String) throws {
        do {
            try queue.write { db in try Self.setAside(db, ids: ids, reason: reason) }
        } catch {
            throw SensorError("spool \(path): write failed: \(error)")
        }
    }

    /// The columns `sighting` and `rejected` share.
    private static let sightingColumns = "kind, value, customer, sensor, time, evidence, key, source, \"offset\", observed, spooled"

    private static func setAside(_ db: Database, ids: [Int64], reason: String) throws {
        let columns = sightingColumns
        for id in ids {
            try db.execute(
                sql: "INSERT OR IGNORE INTO rejected (\(columns), reason, rejected_at, retry) SELECT \(columns), ?, ?, 1 FROM sighting WHERE id = ?",
                arguments: [reason, Date().timeIntervalSince1970, id])
            try db.execute(sql: "DELETE FROM sighting WHERE id = ?", arguments: [id])
        }
    }

    /// Puts the sightings the receiver refused back at the end of the queue
    /// (after its intel or customers were fixed); returns how many. Those
    /// that break the upload rules stay where they are.
    @discardableResult
    package func requeueRejected() throws -> Int {
        let columns = Self.sightingColumns
        do {
            return try queue.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO sighting (\(columns)) SELECT \(columns) FROM rejected WHERE retry = 1 ORDER BY id")
                let moved = try Int.fetchOne(db, sql: "SELECT count(*) FROM rejected WHERE retry = 1") ?? 0
                try db.execute(sql: "DELETE FROM rejected WHERE retry = 1")
                return moved
            }
        } catch {
            throw SensorError("spool \(path): write failed: \(error)")
        }
    }

    /// Deletes the sightings up to and including `lastID` (acknowledged upstream).
    package func acknowledge(through lastID: Int64) throws {
        do {
            try queue.write { db in try db.execute(sql: "DELETE FROM sighting WHERE id <= ?", arguments: [lastID]) }
        } catch {
            throw SensorError("spool \(path): delete failed: \(error)")
        }
    }

    /// Sightings waiting, when the oldest of them was spooled, and how many are set aside.
    package func depth() throws -> (count: Int, oldestSpooledAt: Double?, setAside: Int) {
        do {
            return try queue.read { db in
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM sighting") ?? 0
                let oldest = try Double.fetchOne(db, sql: "SELECT spooled FROM sighting ORDER BY id LIMIT 1")
                let aside = try Int.fetchOne(db, sql: "SELECT count(*) FROM rejected") ?? 0
                return (count, oldest, aside)
            }
        } catch {
            throw SensorError("spool \(path): read failed: \(error)")
        }
    }
}

/// A sensor failure with a message for the operator.
package struct SensorError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
