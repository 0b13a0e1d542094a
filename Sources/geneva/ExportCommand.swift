import ArgumentParser
import Foundation
import Reporting
import Storage
import TelemetryModel
import WireParsing

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the sightings in the window: a STIX 2.1 bundle of sighting objects, MISP sightings JSON, or NDJSON.")

    enum Format: String, ExpressibleByArgument { case stix, misp, ndjson }

    @OptionGroup var store: StoreOptions
    @Option(help: "stix (2.1 bundle), misp (sightings JSON) or ndjson (as `geneva sightings --format ndjson`).") var format: Format
    @OptionGroup var windowOptions: WindowOptions
    @Option(help: "Write to this file (atomically: all of it or nothing) instead of stdout.") var output: String?

    func run() throws {
        let window = try windowOptions.window()
        let sink: OutputSink
        do {
            sink = try OutputSink(path: output)
        } catch {
            throw fail("cannot write export: \(error)")
        }
        do {
            let db = try store.open()
            // Streamed: sightings are written as they are read.
            switch format {
            case .ndjson:
                try db.forEachSighting(window: window) { sink.write(SightingExport.json($0).serialized() + "\n") }
            case .misp:
                sink.write(SightingExport.mispHeader)
                var first = true
                try db.forEachSighting(window: window) {
                    sink.write(SightingExport.misp($0, first: first))
                    first = false
                }
                sink.write(SightingExport.mispFooter)
            case .stix:
                var writer = SightingExport.STIXBundleWriter(customers: try db.customerNames(), validFrom: try db.indicatorValidFrom())
                try db.forEachSighting(window: window) { writer.collect($0) }
                sink.write(writer.header())
                try db.forEachSighting(window: window) { if let line = writer.sighting($0) { sink.write(line) } }
                sink.write(SightingExport.STIXBundleWriter.footer)
            }
            try sink.finish()
        } catch let error as StorageError {
            sink.abandon()
            throw fail(error.description)
        } catch {
            sink.abandon()
            throw fail("cannot write export: \(error)")
        }
    }
}

/// Buffered output to stdout, or to a file written atomically: a temporary
/// file beside it, renamed over it only when everything was written.
final class OutputSink {
    private let handle: FileHandle
    private let path: String?
    private let temporary: String?
    private var buffer: [UInt8] = []

    init(path: String?) throws {
        self.path = path
        if let path {
            let temporary = path + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
            guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
                throw SinkError(description: "cannot create \(temporary) (\(String(cString: strerror(errno))))")
            }
            self.temporary = temporary
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        } else {
            temporary = nil
            handle = FileHandle.standardOutput
        }
        buffer.reserveCapacity(1 << 20)
    }

    /// Buffers `text`; the first write error is kept and reported by `finish`.
    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    private var failure: (any Error)?

    private func flush() {
        guard failure == nil else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            failure = error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is buffered and, for a file, puts it in place (after it
    /// reached the disk).
    func finish() throws {
        flush()
        if let failure { throw SinkError(description: "write failed: \(failure)") }
        guard let path, let temporary else { return }
        try handle.synchronize()
        try handle.close()
        // rename(2) replaces the target atomically.
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw SinkError(description: "cannot rename \(temporary) to \(path) (\(String(cString: strerror(errno))))")
        }
    }

    /// Drops a partly written file.
    func abandon() {
        guard let temporary else { return }
        try? handle.close()
        try? FileManager.default.removeItem(atPath: temporary)
    }
}

struct SinkError: Error, CustomStringConvertible {
    var description: String
}
