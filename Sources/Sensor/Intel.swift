import Foundation
import Indicators
import Storage
import Synchronization
import TelemetryModel
import ThreatIntel

/// The matching snapshot of everything in a store, streamed entry by entry
/// (`scan`, the sensor's intel loader).
package func buildIndicatorSet(_ db: any GenevaStore, generation: Int = 0) throws(StorageError) -> IndicatorSet {
    var builder = IndicatorSet.Builder(generation: generation)
    try db.forEachIndicatorEntry {
        builder.add(indicatorID: $0.indicatorID, kind: $0.kind, value: $0.value, validFrom: $0.validFrom, validUntil: $0.validUntil)
    }
    return builder.freeze()
}

/// What the sources match against: one immutable snapshot of the intel and
/// its payload automaton. Sources take the current snapshot per packet batch
/// or log read; a reload swaps it in one step, so matching never pauses, and
/// the old snapshot is freed when the last source lets go of it.
package final class IntelHolder: Sendable {
    package struct Snapshot: Sendable {
        package var indicators: IndicatorSet
        package var payload: PayloadMatcher?
        package var generation: Int { indicators.generation }
        package var loadedAt: Date

        package init(indicators: IndicatorSet, payload: PayloadMatcher?, loadedAt: Date) {
            self.indicators = indicators
            self.payload = payload
            self.loadedAt = loadedAt
        }
    }

    private let state: Mutex<Snapshot>

    package init(_ snapshot: Snapshot) {
        state = Mutex(snapshot)
    }

    package var current: Snapshot { state.withLock { $0 } }

    package func replace(_ snapshot: Snapshot) {
        // The old snapshot is released outside the lock (its tables may be large).
        let old = state.withLock { s in
            let old = s
            s = snapshot
            return old
        }
        _ = old
    }
}

/// Intel files (STIX 2.1, MISP events or feed directories, Zeek intel, CSV:
/// what `geneva intel import` takes) read into a snapshot. Each load
/// imports them into a scratch store, which gives the sensor exactly the
/// matching `scan` has (same validity windows, same normalisation).
package struct IntelLoader: Sendable {
    package var files: [String]
    /// Where the scratch store is made (and removed).
    package var scratchDirectory: String
    package var payload: Bool

    package init(files: [String], scratchDirectory: String, payload: Bool) {
        self.files = files
        self.scratchDirectory = scratchDirectory
        self.payload = payload
    }

    /// Per-file outcome of a load, for the log.
    package struct Loaded: Sendable {
        package var snapshot: IntelHolder.Snapshot
        package var lines: [String]
    }

    /// Loads every file; any file failing fails the load (the caller keeps
    /// the snapshot it had: a half-read intel set would silently stop matching).
    package func load(generation: Int) throws -> Loaded {
        // A name of its own (a store left by a killed sensor must not be imported into).
        let scratch = URL(fileURLWithPath: scratchDirectory)
            .appendingPathComponent("intel-scratch-\(UUID().uuidString).sqlite").path
        func remove() { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch + suffix) } }
        defer { remove() }
        // Those left by a killed sensor go (an hour old: not another process's load in progress).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scratchDirectory)) ?? [] where name.hasPrefix("intel-scratch-") {
            let old = scratchDirectory + "/" + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: old))?[.modificationDate] as? Date,
                Date().timeIntervalSince(modified) > 3600
            {
                try? FileManager.default.removeItem(atPath: old)
            }
        }
        var lines: [String] = []
        let set: IndicatorSet
        do {
            let store = try SQLiteStore(path: scratch)
            for file in files {
                let document = try IntelImporter.load(path: file)
                let summary = try store.importIntel(
                    source: document.source, format: document.format.rawValue, statements: document.records, actors: document.actors,
                    campaigns: document.campaigns, skipped: document.skipped)
                var line = "\(file): \(document.format.rawValue): \(summary.records) records"
                if document.skippedTotal > 0 { line += ", \(document.skippedTotal) skipped" }
                lines.append(line)
            }
            set = try buildIndicatorSet(store, generation: generation)
        } catch let error as IntelImportError {
            throw SensorError("intel: \(error.description)")
        } catch let error as StorageError {
            throw SensorError("intel: \(error.description)")
        }
        var matcher: PayloadMatcher? = nil
        if payload, set.count > 0 {
            do { matcher = try PayloadMatcher(set) } catch { throw SensorError("intel: cannot compile the payload matcher: \(error)") }
        }
        return Loaded(snapshot: .init(indicators: set, payload: matcher, loadedAt: Date()), lines: lines)
    }

    /// What identifies the current content of the files (size, mtime,
    /// inode; for a feed directory, of its entries): a change triggers a reload.
    package func fingerprint() -> [String] {
        var out: [String] = []
        for file in files {
            out.append(Self.stamp(file))
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: file)) ?? []
                for name in names.sorted() { out.append(Self.stamp(file + "/" + name)) }
            }
        }
        return out
    }

    private static func stamp(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "\(path) missing" }
        return "\(path) \(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }
}

extension SightingUpload {
    /// A sighting of `match` in `observable`, as every sensor source spools it.
    package init(_ observable: Observable, _ match: IndicatorMatch, customer: String, sensor: String, source: String) {
        self.init(
            indicatorKind: match.kind.rawValue, indicatorValue: match.value, customerID: customer, sensor: sensor, time: observable.time,
            evidence: observable.evidence, key: observable.key, source: source, offset: observable.offset, observed: observable.value)
    }
}
