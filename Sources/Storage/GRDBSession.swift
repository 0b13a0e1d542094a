import GRDB
import GRDBSQLite

/// `SQLSession` over one GRDB database access (the SQLite store's
/// transactions). Statements with arguments are prepared once per
/// connection and cached, so shared code in a loop does not re-parse SQL.
///
/// Arguments are bound and rows read with SQLite's C API on GRDB's prepared
/// statements: going through GRDB's `StatementArguments` and `Row` copied
/// every value twice more and cost a third of the ingest rate (60k → 38k
/// sightings/s at 1M). The unsafe steps are all in `step`.
struct GRDBSession: SQLSession {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws {
        if arguments.isEmpty {
            try db.execute(sql: sql)  // may hold several statements (schema)
        } else {
            try GRDBSession.step(try db.cachedStatement(sql: sql), arguments, db) { _ in }
        }
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try GRDBSession.step(try db.cachedStatement(sql: sql), arguments, db) { rows.append($0) }
        return rows
    }

    func insert(_ sql: String, _ arguments: [SQLValue]) throws -> Int64? {
        try GRDBSession.step(try db.cachedStatement(sql: sql), arguments, db) { _ in }
        return db.changesCount > 0 ? db.lastInsertedRowID : nil
    }

    func insertRows(into table: String, columns: [String], rows: [[SQLValue]], suffix: String) throws -> [SQLRow] {
        try insertRowsAsValues(into: table, columns: columns, rows: rows, suffix: suffix)
    }

    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        // Not cached: this statement stays busy while `body` may run other statements.
        try GRDBSession.step(try db.makeStatement(sql: sql), arguments, db, body)
    }

    /// Binds `arguments`, steps `statement` to the end and hands each row to
    /// `body`. The statement is this call's alone for its duration: cached
    /// statements are only used by `execute` and `rows`, which finish
    /// stepping before they return, and a cursor's statement is not cached.
    private static func step(_ statement: Statement, _ arguments: [SQLValue], _ db: Database, _ body: (SQLRow) throws -> Void) throws {
        let raw = statement.sqliteStatement
        // Start from a clean statement (an earlier use may have left bindings),
        // and leave it reset, so GRDB finds it as it expects.
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
        defer { sqlite3_reset(raw) }
        guard Int(sqlite3_bind_parameter_count(raw)) == arguments.count else {
            throw StorageError(.database, "statement takes \(sqlite3_bind_parameter_count(raw)) parameters but was given \(arguments.count) arguments")
        }
        // SQLITE_TRANSIENT: SQLite copies the text before the call returns, so
        // the Swift buffer only has to live for the call.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, value) in arguments.enumerated() {
            let index = Int32(i + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(raw, index)
            case .integer(let v): code = sqlite3_bind_int64(raw, index, v)
            case .text(var s):
                // Explicit length: text may hold NUL bytes. An empty buffer may have no
                // base address, which SQLite would bind as NULL: bind "" instead.
                code = s.withUTF8 { bytes in
                    guard let base = bytes.baseAddress, bytes.count > 0 else { return sqlite3_bind_text(raw, index, "", 0, transient) }
                    return sqlite3_bind_text(raw, index, base, Int32(bytes.count), transient)
                }
            }
            guard code == SQLITE_OK else { throw failure(code, db) }
        }
        let columns = sqlite3_column_count(raw)
        while true {
            let code = sqlite3_step(raw)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw failure(code, db) }
            var values: [SQLValue] = []
            values.reserveCapacity(Int(columns))
            for c in 0..<columns {
                switch sqlite3_column_type(raw, c) {
                case SQLITE_NULL: values.append(.null)
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(raw, c)))
                case SQLITE_TEXT:
                    // Pointer first, then its length (the order SQLite documents); both
                    // stay valid until the next step, and the bytes are copied into a String now.
                    let text = sqlite3_column_text(raw, c)
                    let count = Int(sqlite3_column_bytes(raw, c))
                    values.append(.text(text.map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) } ?? ""))
                case SQLITE_FLOAT:
                    let d = sqlite3_column_double(raw, c)
                    guard let v = Int64(exactly: d) else { throw StorageError(.database, "column \(c) holds a real (\(d)); the schema has none") }
                    values.append(.integer(v))
                default:
                    throw StorageError(.database, "column \(c) holds a blob; read blobs through GRDB")
                }
            }
            try body(SQLRow(values))
        }
    }

    private static func failure(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }
}
