/// The SQL both stores speak: one transaction on SQLite (GRDB) or
/// PostgreSQL (postgres-nio). Code written against it runs on either, so the
/// logic that is the same on both (intel import, correlation, the SQL
/// definitions of the report) is written once.
///
/// The dialect is the intersection of the two: `?` parameters (the
/// PostgreSQL session numbers them), `insert` for new ids,
/// `ON CONFLICT … DO NOTHING / DO UPDATE`, `CAST(… AS BIGINT)`, every
/// non-aggregated column in `GROUP BY`, case-insensitive names compared as
/// `lower(x) = ?` with the argument lower-cased in Swift (`asciiLowercased`:
/// both databases' `lower()` fold ASCII only here, SQLite always and
/// PostgreSQL on `COLLATE "C"` text), and the column `"offset"` quoted.
package protocol SQLSession {
    var dialect: SQLDialect { get }
    func execute(_ sql: String, _ arguments: [SQLValue]) throws
    /// Every row of the result, in memory (small results).
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
    /// The rows one at a time, without holding them all (large results).
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws
    /// Runs a one-row `INSERT` (which may do nothing, `ON CONFLICT DO
    /// NOTHING`) into a table with an `id` key; returns the new row's id, or
    /// nil when no row was inserted. (PostgreSQL: `RETURNING id`; SQLite:
    /// `changes()` and the last row id, since its RETURNING builds a
    /// temporary table per execution and cost a third of the ingest rate.)
    func insert(_ sql: String, _ arguments: [SQLValue]) throws -> Int64?
    /// Inserts `rows` (values in `columns` order; integers and text, no
    /// NULL) in one statement ending in `suffix` (`ON CONFLICT …`,
    /// `RETURNING …`) and returns its rows. PostgreSQL binds one array per
    /// column (`unnest`), so the statement's text and plan do not grow with
    /// the rows; SQLite writes a multi-row `VALUES`.
    func insertRows(into table: String, columns: [String], rows: [[SQLValue]], suffix: String) throws -> [SQLRow]
}

extension SQLSession {
    /// The multi-row `VALUES` form of `insertRows`.
    package func insertRowsAsValues(into table: String, columns: [String], rows: [[SQLValue]], suffix: String) throws -> [SQLRow] {
        guard !rows.isEmpty else { return [] }
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rows.count).joined(separator: ", ") + " " + suffix
        return try self.rows(sql, rows.flatMap { $0 })
    }
}

package enum SQLDialect: Sendable {
    case sqlite, postgres
}

extension SQLSession {
    package func execute(_ sql: String) throws { try execute(sql, []) }

    package func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }

    /// The first row, if any.
    package func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row as an integer; nil when there is no
    /// row or the value is NULL.
    package func int64(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int64? {
        try row(sql, arguments)?.optionalInt64(0)
    }

    /// The first column of the first row as text; nil when there is no row
    /// or the value is NULL.
    package func string(_ sql: String, _ arguments: [SQLValue] = []) throws -> String? {
        try row(sql, arguments)?.optionalString(0)
    }
}

/// One bound or returned value. Integers are 64-bit on both databases;
/// booleans come back as 0 or 1.
package enum SQLValue: Sendable, Equatable, ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case null
    case integer(Int64)
    case text(String)

    package init(nilLiteral: ()) { self = .null }
    package init(integerLiteral value: Int64) { self = .integer(value) }
    package init(stringLiteral value: String) { self = .text(value) }

    package static func int(_ value: Int64?) -> SQLValue { value.map(SQLValue.integer) ?? .null }
    package static func int(_ value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }
    package static func string(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}

/// One result row; typed reads throw (never trap) when a value is not what
/// the schema promises.
package struct SQLRow: Sendable {
    package var values: [SQLValue]

    package init(_ values: [SQLValue]) { self.values = values }

    package var count: Int { values.count }

    package func optionalInt64(_ i: Int) throws -> Int64? {
        switch try value(i) {
        case .null: return nil
        case .integer(let v): return v
        case .text(let s):
            guard let v = Int64(s) else { throw mismatch(i, "an integer") }
            return v
        }
    }

    package func int64(_ i: Int) throws -> Int64 {
        guard let v = try optionalInt64(i) else { throw mismatch(i, "an integer") }
        return v
    }

    package func int(_ i: Int) throws -> Int { Int(try int64(i)) }

    package func optionalInt(_ i: Int) throws -> Int? { try optionalInt64(i).map { Int($0) } }

    package func bool(_ i: Int) throws -> Bool { try int64(i) != 0 }

    package func optionalString(_ i: Int) throws -> String? {
        switch try value(i) {
        case .null: return nil
        case .text(let s): return s
        case .integer(let v): return String(v)
        }
    }

    package func string(_ i: Int) throws -> String {
        guard let s = try optionalString(i) else { throw mismatch(i, "text") }
        return s
    }

    private func value(_ i: Int) throws -> SQLValue {
        guard values.indices.contains(i) else { throw StorageError(.database, "result column \(i) missing (\(values.count) columns)") }
        return values[i]
    }

    private func mismatch(_ i: Int, _ expected: String) -> StorageError {
        StorageError(.database, "result column \(i) is \(values[i]), expected \(expected)")
    }
}
