import GRDB

/// `SQLSession` over one GRDB database access (the SQLite store's
/// transactions). Statements with arguments are prepared once per
/// connection and cached, so shared code in a loop does not re-parse SQL.
struct GRDBSession: SQLSession {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws {
        if arguments.isEmpty {
            try db.execute(sql: sql)  // may hold several statements (schema)
        } else {
            try db.cachedStatement(sql: sql).execute(arguments: GRDBSession.arguments(arguments))
        }
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        return try Row.fetchAll(statement, arguments: GRDBSession.arguments(arguments)).map(GRDBSession.row)
    }

    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (SQLRow) throws -> Void) throws {
        // Not cached: a cursor's statement stays busy while `body` may run other statements.
        let cursor = try Row.fetchCursor(db.makeStatement(sql: sql), arguments: GRDBSession.arguments(arguments))
        while let row = try cursor.next() { try body(GRDBSession.row(row)) }
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { value -> DatabaseValue in
            switch value {
            case .null: return .null
            case .integer(let v): return v.databaseValue
            case .text(let s): return s.databaseValue
            }
        })
    }

    static func row(_ row: Row) throws -> SQLRow {
        var values: [SQLValue] = []
        values.reserveCapacity(row.count)
        for (column, value) in row {
            switch value.storage {
            case .null: values.append(.null)
            case .int64(let v): values.append(.integer(v))
            case .string(let s): values.append(.text(s))
            case .double(let d):
                guard let v = Int64(exactly: d) else { throw StorageError(.database, "column \(column) holds a real (\(d)); the schema has none") }
                values.append(.integer(v))
            case .blob: throw StorageError(.database, "column \(column) holds a blob; read blobs through GRDB")
            }
        }
        return SQLRow(values)
    }
}
