import Foundation
import Indicators
import PacketDecoding
import TelemetryModel
import WireParsing

/// A file that cannot be scanned at all (unreadable, not a capture).
package struct ScanError: Error, Equatable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package var description: String { "\(path): \(reason)" }
}

/// The outcome of reading one capture file.
package struct CaptureSummary: Sendable {
    package var source: String
    package var records: Int
    package var bytes: Int64
    package var observables: Int
    package var firstTime: Timestamp?
    package var lastTime: Timestamp?
    package var anomalies: AnomalyCounts
}

/// Reads capture files from disk in fixed-size chunks and drives
/// ``CaptureDecoder``; with an ``IndicatorSet`` it turns observables into
/// sightings.
package enum CaptureScanner {
    /// Read size: large enough to amortise syscalls, small enough that memory
    /// stays flat whatever the file size.
    package static let chunkSize = 1 << 20

    /// Every observable of the file at `path`, in file order.
    package static func observables(
        path: String, chunkSize: Int = chunkSize, _ emit: (Observable) throws -> Void
    ) throws -> CaptureSummary {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ScanError(path: path, reason: "is a directory, not a capture file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied?)" : "no such file"
            throw ScanError(path: path, reason: reason)
        }
        defer { try? handle.close() }
        var decoder = CaptureDecoder(source: path)
        do {
            while true {
                let data: Data?
                do {
                    data = try handle.read(upToCount: chunkSize)
                } catch {
                    throw ScanError(path: path, reason: "read failed: \(error.localizedDescription)")
                }
                guard let data, !data.isEmpty else { break }
                try decoder.feed(Array(data)[...], emit)
            }
            try decoder.finish()
        } catch let error as PcapError {
            throw ScanError(path: path, reason: error.description)
        }
        return CaptureSummary(
            source: path, records: decoder.recordCount, bytes: decoder.bytesConsumed, observables: decoder.observableCount,
            firstTime: decoder.firstTime, lastTime: decoder.lastTime, anomalies: decoder.anomalies)
    }

    /// Scans one file for `customerID`'s `sensor` against `indicators`;
    /// sightings are de-duplicated by identity.
    package static func scan(
        path: String, customerID: String, sensor: String, indicators: IndicatorSet
    ) throws -> (summary: CaptureSummary, sightings: [Sighting]) {
        var sightings: [Sighting] = []
        var seen = Set<Sighting.Identity>()
        let summary = try observables(path: path) { observable in
            for match in indicators.matches(observable) {
                let sighting = Sighting(
                    indicatorID: match.indicatorID, customerID: customerID, sensor: sensor, time: observable.time,
                    evidence: observable.evidence, key: observable.key, source: path, offset: observable.offset,
                    observed: observable.value)
                if seen.insert(sighting.identity).inserted { sightings.append(sighting) }
            }
        }
        return (summary, sightings)
    }
}
