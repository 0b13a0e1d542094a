import ArgumentParser
import Storage
import TelemetryModel
import Foundation

@main
struct Geneva: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geneva",
        abstract: "Counts nation-state attacks on your customers, with the evidence behind every number.",
        subcommands: [
            IntelCommand.self, CustomersCommand.self, ScanCommand.self, ObservablesCommand.self, CorrelateCommand.self,
            CampaignsCommand.self, CampaignCommand.self, SightingsCommand.self, ReportCommand.self, ExportCommand.self,
            ServeCommand.self, HashTokenCommand.self, SensorCommand.self,
        ])
}

/// Where the store is, shared by every subcommand that touches it:
/// `--database-url` (PostgreSQL), else `--db PATH` (SQLite), else
/// `$GENEVA_DATABASE_URL`, else `$GENEVA_DB`, else `./geneva.sqlite`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("SQLite database file (default: $GENEVA_DB or ./geneva.sqlite).", valueName: "path"))
    var db: String?

    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp("PostgreSQL store, postgres://user:password@host:port/database (default: $GENEVA_DATABASE_URL).", valueName: "url"))
    var databaseURL: String?

    func validate() throws {
        if db != nil && databaseURL != nil { throw ValidationError("--db and --database-url name two stores; give one") }
        if let databaseURL, !(databaseURL.hasPrefix("postgres://") || databaseURL.hasPrefix("postgresql://")) {
            throw ValidationError("--database-url takes a postgres:// or postgresql:// URL (a SQLite file is --db)")
        }
    }

    /// The store's URL or SQLite path.
    var location: String { explicitLocation ?? "./geneva.sqlite" }

    /// The store named by an option or the environment, if any.
    var explicitLocation: String? {
        let environment = ProcessInfo.processInfo.environment
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return databaseURL ?? db ?? nonEmpty("GENEVA_DATABASE_URL") ?? nonEmpty("GENEVA_DB")
    }

    /// Opens (creating and migrating if needed) the store.
    func open() throws(StorageError) -> any GenevaStore {
        try openStore(location)
    }
}

/// `--since` / `--until` (RFC 3339 or YYYY-MM-DD, UTC), shared by every
/// command that reads a window of sightings.
struct WindowOptions: ParsableArguments {
    @Option(help: "Start of the window (RFC 3339 or YYYY-MM-DD, UTC), inclusive.") var since: String?
    @Option(help: "End of the window (RFC 3339 or YYYY-MM-DD, UTC), exclusive.") var until: String?

    /// The window; a bad date is a one-line error naming the option.
    func window() throws -> TimeWindow {
        var window = TimeWindow()
        if let since {
            guard let t = Timestamp(parsing: since) else { throw fail("--since \(since.prefix(40).debugDescription): not a date (RFC 3339 or YYYY-MM-DD)") }
            window.since = t
        }
        if let until {
            guard let t = Timestamp(parsing: until) else { throw fail("--until \(until.prefix(40).debugDescription): not a date (RFC 3339 or YYYY-MM-DD)") }
            window.until = t
        }
        return window
    }
}

/// Prints `geneva: message` on stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(Data(("geneva: " + message + "\n").utf8))
}

/// One-line error on stderr and a non-zero exit (SPEC §5).
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    warn(message)
    return ExitCode(code)
}

/// Runs `body` for each file; a file whose error is reported does not stop
/// the others, and the command exits non-zero at the end if any failed.
/// Errors are printed as their one-line description, prefixed with the file
/// when the message does not already name it.
func forEachFile(_ files: [String], _ body: (String) throws -> Void) throws {
    var failed = 0
    for file in files {
        do {
            try body(file)
        } catch let error as ExitCode {
            throw error
        } catch {
            let message = String(describing: error)
            let named = message.contains(URL(fileURLWithPath: file).lastPathComponent + ":")
            warn(named ? message : "\(file): \(message)")
            failed += 1
        }
    }
    if failed > 0 { throw ExitCode(1) }
}

/// A file that could not be read at all.
struct UnreadableFile: Error, CustomStringConvertible {
    var path: String
    var description: String { "\(path): cannot be read" }
}
