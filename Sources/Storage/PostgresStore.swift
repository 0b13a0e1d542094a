import Foundation
import PostgresNIO
import TelemetryModel

/// The store on a PostgreSQL server, through postgres-nio
/// (`--database-url postgres://user:password@host:port/database`).
///
/// Same tables and rules as `SQLiteStore` (the shared code is in the
/// `GenevaStore` extensions); what differs:
/// - one connection per store, used by one transaction at a time (a lock);
///   writers of every process take turns through a transaction-scoped
///   advisory lock, as SQLite's writers do through its write lock;
/// - reads run in `REPEATABLE READ READ ONLY` transactions (one snapshot);
///   large results stream through a server-side cursor;
/// - the report counts the window's sightings as they stream from the
///   `sighting_time` index (no packs: PostgreSQL's index-only scan of
///   `(time) INCLUDE (id, indicator_id, customer_n)` is the compact copy);
/// - text columns are `COLLATE "C"`, so names sort as on SQLite.
///
/// Synchronous like the SQLite store: each call waits on the connection's
/// event loop (never called from the event loop itself).
package final class PostgresStore: GenevaStore {
    // Guarded by `lock`: replaced when the server closed it (restart, network).
    nonisolated(unsafe) private var connection: PostgresConnection
    private let logger: Logger
    private let lock = NSLock()
    package let location: String
    private let url: String
    private let schema: String?

    /// Opens `url` (`postgres://` or `postgresql://`; query items
    /// `sslmode=disable|require` (default disable) and `schema=NAME`, a
    /// schema to create if needed and work in) and migrates the schema.
    package init(url: String) throws(StorageError) {
        let opened = try PostgresStore.connect(url)
        (connection, logger, location) = (opened.0, opened.1, opened.2)
        self.url = url
        schema = opened.schema
        do {
            if let schema {
                try PostgresSession(connection: connection, logger: logger).execute("CREATE SCHEMA IF NOT EXISTS \(schema)", [])
                try useSchema(connection)
            }
            try write { db in try PostgresSchema.migrate(db) }
        } catch {
            try? connection.close().wait()
            throw StorageError(.cannotOpen, "cannot open database \(location): \(PostgresSession.describe(error))")
        }
    }

    /// Connects to the server `url` names; returns the connection and the
    /// validated `schema=` item.
    private static func connect(_ url: String) throws(StorageError) -> (PostgresConnection, Logger, String, schema: String?) {
        let location = PostgresStore.redact(url)
        guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty,
              let user = parts.user.map({ $0.removingPercentEncoding ?? $0 }), !user.isEmpty
        else {
            throw StorageError(.cannotOpen, "cannot open database: \(location) is not a postgres://user[:password]@host[:port]/database URL")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        let items = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        if let schema = items["schema"],
           schema.isEmpty || !schema.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) {
            throw StorageError(.cannotOpen, "cannot open database \(location): a schema name is lower-case ASCII letters, digits and _")
        }
        var logger = Logger(label: "geneva.postgres")
        logger.logLevel = .critical
        do {
            let tls: PostgresConnection.Configuration.TLS
            switch items["sslmode"] ?? "disable" {
            case "disable": tls = .disable
            case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case let other: throw StorageError(.cannotOpen, "cannot open database \(location): sslmode \(other) is not supported (disable, require)")
            }
            let configuration = PostgresConnection.Configuration(
                host: host, port: parts.port ?? 5432, username: user, password: parts.password.map { $0.removingPercentEncoding ?? $0 },
                database: database.isEmpty ? nil : database, tls: tls)
            let connection = try PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration, id: 1, logger: logger
            ).wait()
            return (connection, logger, location, items["schema"])
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.cannotOpen, "cannot open database \(location): \(PostgresSession.describe(error))")
        }
    }

    deinit {
        try? connection.close().wait()
    }

    package func write<T>(_ body: (any SQLSession) throws -> T) throws(StorageError) -> T {
        // One writer at a time over every process, like SQLite's write lock: the
        // customer numbers and identity probing read what they then write.
        try transaction("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(\(PostgresStore.writerLock))", body)
    }

    package func read<T>(_ body: (any SQLSession) throws -> T) throws(StorageError) -> T {
        try transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// No second copy of the sightings to keep (see the type's comment).
    package func didInsertSightings(_ records: [SightingPack.Record], in session: any SQLSession) throws {}

    package func reportScan(window: TimeWindow) throws(StorageError) -> (ReportScan, ReportScan.Tally, NationStateReport.Coverage) {
        try read { db in
            guard let session = db as? PostgresSession else { throw StorageError(.database, "a PostgreSQL store was handed a foreign session") }
            let scan = try ReportScan(db)
            var tally = scan.emptyTally()
            var pairs: [(Int32, Int32)] = []
            pairs.reserveCapacity(8)
            // The packing is one hash aggregate over the window: at the default 4 MB of
            // work_mem it sorts on disk instead (10 M sightings: 11.5 s on the server
            // against 6.6 s in memory, ~32 bytes a sighting). For this transaction only.
            try session.execute("SET LOCAL work_mem = '1GB'", [])
            // The server packs the window's (time, id, indicator, customer) into
            // blobs of 8,192 records in SightingPack's layout (big-endian), read
            // from the index alone: a few hundred values cross the connection
            // instead of millions of rows (1M sightings: 5.3 s row by row).
            try session.forEachBlob("""
                SELECT string_agg(int8send(time) || int8send(id) || int4send(CAST(indicator_id AS INTEGER)) || int4send(CAST(customer_n AS INTEGER)), ''::bytea)
                FROM sighting WHERE time >= ? AND time < ? GROUP BY id / 8192
                """, PostgresStore.windowArguments(window)) { bytes in
                let whole = SightingPack.forEach(bytes, bigEndian: true) { time, sid, indicator, customerN in
                    scan.count(sid: sid, time: time, indicatorID: Int64(indicator), customerN: Int64(customerN), into: &tally, pairs: &pairs)
                }
                if !whole { throw StorageError(.database, "the server sent a sighting block of \(bytes.count) bytes, not whole records") }
            }
            tally.flushWeek()
            return (scan, tally, try PostgresStore.coverage(db, window: window))
        }
    }

    /// `sightings(window:customerID:campaignID:)`: the filters in SQL (indexes
    /// on customer and time, and on indicator), attributions from the intel
    /// in memory as the report's.
    package func sightingRows(window: TimeWindow, customerID: String?, campaignID: String?) throws(StorageError) -> [SightingRow] {
        let (arguments, filter) = PostgresStore.sightingFilter(window: window, customerID: customerID, campaignID: campaignID)
        return try read { db in
            let scan = try ReportScan(db)
            var rows: [SightingRow] = []
            try db.forEachRow(PostgresStore.sightingSelect + " WHERE s.time >= ? AND s.time < ?\(filter) ORDER BY s.time, s.id", arguments) { row in
                if let sighting = try PostgresStore.sightingRow(row, campaignID: campaignID, attributions: {
                    scan.attributions(sid: $0, time: $1, indicator: Int($2))
                }) {
                    rows.append(sighting)
                }
            }
            return rows
        }
    }

    /// Drops the schema `url` names in its `schema=` item, with everything in
    /// it (benchmarks and tests start from nothing). Without one, does nothing.
    package static func dropSchema(url: String) throws(StorageError) {
        let (connection, logger, location, schema) = try connect(url)
        defer { try? connection.close().wait() }
        guard let schema else { return }
        do {
            try PostgresSession(connection: connection, logger: logger).execute("DROP SCHEMA IF EXISTS \(schema) CASCADE", [])
        } catch {
            throw StorageError(.database, "database \(location): cannot drop schema \(schema): \(PostgresSession.describe(error))")
        }
    }

    // MARK: Plumbing

    /// `pg_advisory_xact_lock` key of Geneva's writers ("GENEVA" in ASCII).
    static let writerLock: Int64 = 0x47_45_4E_45_56_41

    private func useSchema(_ connection: PostgresConnection) throws {
        if let schema { try PostgresSession(connection: connection, logger: logger).execute("SET search_path TO \(schema)", []) }
    }

    private func transaction<T>(_ begin: String, _ body: (any SQLSession) throws -> T) throws(StorageError) -> T {
        lock.lock()
        defer { lock.unlock() }
        if connection.isClosed {
            // The server went away (restart, network): one new connection, then the
            // transaction as usual; if that fails too, the error says so.
            let reopened = try PostgresStore.connect(url).0
            do {
                try useSchema(reopened)
            } catch {
                try? reopened.close().wait()
                throw StorageError(.database, "database \(location): reconnected but cannot select the schema: \(PostgresSession.describe(error))")
            }
            try? connection.close().wait()
            connection = reopened
        }
        let session = PostgresSession(connection: connection, logger: logger)
        do {
            for statement in begin.split(separator: ";") { try session.execute(String(statement), []) }
            let result = try body(session)
            try session.execute("COMMIT", [])
            return result
        } catch {
            // The transaction is void; ROLLBACK ends it (and fails only with the connection).
            try? session.execute("ROLLBACK", [])
            if let error = error as? StorageError { throw error }
            throw StorageError(.database, "database \(location): \(PostgresSession.describe(error))")
        }
    }

    /// The URL without its password.
    static func redact(_ url: String) -> String {
        if var parts = URLComponents(string: url) {
            guard parts.password != nil else { return url }
            parts.password = "***"
            if let text = parts.string { return text }
        }
        // Unparsable (an unencoded character in the password, say): hide everything
        // between the scheme and the last "@", where a password could be.
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", options: .backwards), scheme.upperBound <= at.lowerBound else {
            return url.range(of: "://").map { String(url[..<$0.upperBound]) + "…" } ?? "…"
        }
        return String(url[..<scheme.upperBound]) + "***" + String(url[at.lowerBound...])
    }
}

/// `SQLSession` over one PostgreSQL connection inside a transaction.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger

    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws {
        _ = try connection.query(try query(sql, arguments), logger: logger).wait()
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try connection.query(try query(sql, arguments), logger: logger).wait().rows.map(PostgresSession.row)
    }

    func insert(_ sql: String, _ arguments: [SQLValue]) throws -> Int64? {
        try rows(sql + " RETURNING id", arguments).first?.int64(0)
    }

    /// `INSERT … SELECT * FROM unnest($1::bigint[], $2::text[], …)`: eleven
    /// array parameters for thousands of rows (256-row `VALUES` statements
    /// with 2,816 parameters stored 10.4k sightings/s, parsed and planned anew
    /// each time).
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]], suffix: String) throws -> [SQLRow] {
        guard let first = rows.first else { return [] }
        var binds = PostgresBindings(capacity: columns.count)
        var casts: [String] = []
        for c in columns.indices {
            switch first[c] {
            case .integer:
                var values: [Int64] = []
                values.reserveCapacity(rows.count)
                for row in rows {
                    guard case .integer(let v) = row[c] else { throw StorageError(.database, "\(columns[c]): mixed or NULL values in a bulk insert") }
                    values.append(v)
                }
                binds.append(values)
                casts.append("$\(c + 1)::bigint[]")
            case .text:
                var values: [String] = []
                values.reserveCapacity(rows.count)
                for row in rows {
                    guard case .text(let v) = row[c] else { throw StorageError(.database, "\(columns[c]): mixed or NULL values in a bulk insert") }
                    values.append(PostgresSession.storable(v))
                }
                binds.append(values)
                casts.append("$\(c + 1)::text[]")
            case .null:
                throw StorageError(.database, "\(columns[c]): NULL in a bulk insert")
            }
        }
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) SELECT * FROM unnest(\(casts.joined(separator: ", "))) " + suffix
        return try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).wait().rows.map(PostgresSession.row)
    }

    /// The first column (`bytea`) of each row, a few rows per round trip
    /// through a cursor, handed to `body` in place (large blobs).
    func forEachBlob(_ sql: String, _ arguments: [SQLValue], _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try withCursor(sql, arguments, fetch: 16) { rows in
            for row in rows {
                for cell in row {
                    guard let bytes = cell.bytes else { continue }
                    guard cell.dataType == .bytea else { throw StorageError(.database, "column \(cell.columnName) is \(cell.dataType), expected bytea") }
                    try bytes.withUnsafeReadableBytes { try body($0) }
                }
            }
        }
    }

    /// Streams through a server-side cursor, a few thousand rows per round
    /// trip (the store's transactions make the cursor's lifetime).
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        try withCursor(sql, arguments, fetch: 4096) { rows in
            for row in rows { try body(try PostgresSession.row(row)) }
        }
    }

    /// Declares a cursor for `sql`, hands `body` `fetch` rows at a time until
    /// the cursor is exhausted, and closes it.
    private func withCursor(_ sql: String, _ arguments: [SQLValue], fetch: Int, _ body: ([PostgresRow]) throws -> Void) throws {
        let name = "geneva_cursor_\(PostgresSession.cursorNumber.next())"
        try execute("DECLARE \(name) NO SCROLL CURSOR FOR " + sql, arguments)
        while true {
            let rows = Array(try connection.query(PostgresQuery(unsafeSQL: "FETCH FORWARD \(fetch) FROM \(name)"), logger: logger).wait().rows)
            try body(rows)
            if rows.count < fetch { break }
        }
        try execute("CLOSE \(name)", [])
    }

    /// `sql` with `?` numbered `$1`, `$2`, … (outside quotes) and its binds.
    private func query(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQuery {
        var text = ""
        text.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character? = nil
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                text.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                text.append(c)
            } else if c == "?" {
                n += 1
                text += "$\(n)"
            } else {
                text.append(c)
            }
        }
        guard n == arguments.count else {
            throw StorageError(.database, "statement takes \(n) parameters but was given \(arguments.count) arguments")
        }
        var binds = PostgresBindings(capacity: arguments.count)
        for value in arguments {
            switch value {
            case .null: binds.appendNull()
            case .integer(let v): binds.append(v)
            case .text(let s): binds.append(PostgresSession.storable(s))
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }

    /// PostgreSQL's text cannot hold NUL (SQLite's can): evidence text with
    /// one keeps U+FFFD in its place rather than failing the whole file.
    static func storable(_ s: String) -> String {
        s.utf8.contains(0) ? s.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : s
    }

    static func row(_ row: PostgresRow) throws -> SQLRow {
        var values: [SQLValue] = []
        for cell in row {
            guard cell.bytes != nil else {
                values.append(.null)
                continue
            }
            switch cell.dataType {
            case .int2, .int4, .int8: values.append(.integer(try cell.decode(Int64.self)))
            case .bool: values.append(.integer(try cell.decode(Bool.self) ? 1 : 0))
            case .text, .varchar, .name, .bpchar: values.append(.text(try cell.decode(String.self)))
            default: throw StorageError(.database, "column \(cell.columnName) has type \(cell.dataType), which the store does not read")
            }
        }
        return SQLRow(values)
    }

    /// A readable message: postgres-nio's errors print a generic text by
    /// design; the server's message and SQLSTATE are what a user needs.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// Cursor names unique in the process.
    private static let cursorNumber = Counter()
}

/// A thread-safe increasing number.
private final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private var value = 0
    private let lock = NSLock()

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// The PostgreSQL schema: the SQLite schema's final shape (Schema.swift),
/// as frozen migrations recorded in `geneva_migration`.
enum PostgresSchema {
    static let migrations: [(name: String, sql: String)] = [
        ("v1-initial", """
            CREATE TABLE customer (
                id TEXT COLLATE "C" PRIMARY KEY,
                name TEXT COLLATE "C" NOT NULL,
                country TEXT COLLATE "C" NOT NULL,
                sector TEXT COLLATE "C",
                -- Stable customer number: the report's sightings carry it.
                n BIGINT NOT NULL UNIQUE
            );
            CREATE TABLE sensor (
                customer_id TEXT COLLATE "C" NOT NULL REFERENCES customer(id),
                name TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (customer_id, name)
            );
            CREATE TABLE actor (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                name TEXT COLLATE "C" NOT NULL,
                country TEXT COLLATE "C"
            );
            CREATE UNIQUE INDEX actor_name ON actor (lower(name));
            CREATE TABLE campaign (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                key TEXT COLLATE "C" NOT NULL UNIQUE,
                name TEXT COLLATE "C" NOT NULL,
                origin TEXT COLLATE "C" NOT NULL CHECK (origin IN ('intel', 'clustered')),
                actor_id BIGINT REFERENCES actor(id),
                confidence BIGINT
            );
            CREATE UNIQUE INDEX campaign_name ON campaign (lower(name));
            CREATE TABLE indicator (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                kind TEXT COLLATE "C" NOT NULL,
                value TEXT COLLATE "C" NOT NULL,
                UNIQUE (kind, value)
            );
            CREATE TABLE intel_source (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                name TEXT COLLATE "C" NOT NULL UNIQUE,
                format TEXT COLLATE "C" NOT NULL,
                imported_at BIGINT NOT NULL
            );
            CREATE TABLE intel_entry (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                indicator_id BIGINT NOT NULL REFERENCES indicator(id),
                source_id BIGINT NOT NULL REFERENCES intel_source(id),
                actor_id BIGINT REFERENCES actor(id),
                campaign_id BIGINT REFERENCES campaign(id),
                valid_from BIGINT NOT NULL,
                valid_until BIGINT,
                confidence BIGINT,
                report TEXT COLLATE "C"
            );
            CREATE INDEX intel_entry_indicator ON intel_entry(indicator_id);
            CREATE INDEX intel_entry_source ON intel_entry(source_id);
            CREATE TABLE intel_skip (
                source_id BIGINT NOT NULL REFERENCES intel_source(id),
                reason TEXT COLLATE "C" NOT NULL,
                count BIGINT NOT NULL,
                PRIMARY KEY (source_id, reason)
            );
            CREATE TABLE actor_alias (
                alias TEXT COLLATE "C" NOT NULL,
                actor_id BIGINT NOT NULL REFERENCES actor(id)
            );
            CREATE UNIQUE INDEX actor_alias_key ON actor_alias (lower(alias), actor_id);
            CREATE TABLE actor_source (
                actor_id BIGINT NOT NULL REFERENCES actor(id),
                source_id BIGINT NOT NULL REFERENCES intel_source(id),
                country TEXT COLLATE "C",
                PRIMARY KEY (actor_id, source_id)
            );
            CREATE TABLE campaign_source (
                campaign_id BIGINT NOT NULL REFERENCES campaign(id),
                source_id BIGINT NOT NULL REFERENCES intel_source(id),
                PRIMARY KEY (campaign_id, source_id)
            );
            CREATE TABLE scan (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                customer_id TEXT COLLATE "C" NOT NULL REFERENCES customer(id),
                sensor TEXT COLLATE "C" NOT NULL,
                source TEXT COLLATE "C" NOT NULL,
                scanned_at BIGINT NOT NULL,
                first_time BIGINT,
                last_time BIGINT,
                records BIGINT NOT NULL,
                observables BIGINT NOT NULL,
                anomalies TEXT NOT NULL
            );
            -- Identity per SPEC §3 as a keyed 64-bit hash (see GenevaStore.recordScan).
            CREATE TABLE sighting (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                indicator_id BIGINT NOT NULL REFERENCES indicator(id),
                customer_id TEXT COLLATE "C" NOT NULL REFERENCES customer(id),
                sensor TEXT COLLATE "C" NOT NULL,
                time BIGINT NOT NULL,
                evidence TEXT COLLATE "C" NOT NULL,
                key TEXT COLLATE "C" NOT NULL,
                source TEXT COLLATE "C" NOT NULL,
                "offset" BIGINT NOT NULL,
                observed TEXT COLLATE "C" NOT NULL,
                customer_n BIGINT NOT NULL,
                identity BIGINT NOT NULL UNIQUE
            );
            -- The report reads (time, id, indicator, customer) from this index alone.
            CREATE INDEX sighting_time ON sighting(time) INCLUDE (id, indicator_id, customer_n);
            CREATE INDEX sighting_customer ON sighting(customer_id, time);
            CREATE INDEX sighting_indicator ON sighting(indicator_id);
            CREATE TABLE cluster_sighting (
                sighting_id BIGINT PRIMARY KEY REFERENCES sighting(id),
                campaign_id BIGINT NOT NULL REFERENCES campaign(id),
                via_sighting_id BIGINT REFERENCES sighting(id),
                reason TEXT COLLATE "C" NOT NULL,
                detail TEXT COLLATE "C" NOT NULL
            );
            CREATE INDEX cluster_sighting_campaign ON cluster_sighting(campaign_id);
            CREATE TABLE setting (
                name TEXT COLLATE "C" PRIMARY KEY,
                value TEXT NOT NULL
            );
            """),
    ]

    /// Applies the migrations not yet recorded, inside the caller's write
    /// transaction (PostgreSQL's DDL is transactional: all or nothing).
    static func migrate(_ db: any SQLSession) throws {
        try db.execute("CREATE TABLE IF NOT EXISTS geneva_migration (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        let applied = Set(try db.rows("SELECT name FROM geneva_migration").map { try $0.string(0) })
        let known = Set(migrations.map(\.name))
        if let unknown = applied.subtracting(known).sorted().first {
            throw StorageError(.cannotOpen, "the database was migrated by a newer Geneva (migration \(unknown))")
        }
        for migration in migrations where !applied.contains(migration.name) {
            for statement in statements(migration.sql) { try db.execute(statement, []) }
            try db.execute(
                "INSERT INTO geneva_migration (name, applied_at) VALUES (?, ?)",
                [.text(migration.name), .integer(Int64(Date().timeIntervalSince1970))])
        }
    }

    /// The statements of a migration script: split at `;` ending a line,
    /// `--` comments dropped (the scripts above hold no other semicolons).
    static func statements(_ script: String) -> [String] {
        script.split(separator: "\n").map { line in
            line.range(of: "--").map { String(line[..<$0.lowerBound]) } ?? String(line)
        }.joined(separator: "\n").split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}
