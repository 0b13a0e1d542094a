import Foundation
import Indicators
import MailLogs
import PacketDecoding
import TelemetryModel
import WireParsing

/// A file that cannot be scanned at all (unreadable, neither a capture nor a mail log).
package struct ScanError: Error, Equatable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package var description: String { "\(path): \(reason)" }
}

/// A scan given up because its caller asked it to stop (`shouldStop`).
package struct ScanStopped: Error {}

/// What kind of input a file turned out to be (detected by content).
package enum InputKind: String, Sendable {
    case pcap  // classic pcap or pcapng
    case maillog
}

/// The outcome of reading one input file.
package struct CaptureSummary: Sendable {
    package var source: String
    package var kind: InputKind
    /// Packets (captures) or lines (mail logs).
    package var records: Int
    package var bytes: Int64
    package var observables: Int
    package var firstTime: Timestamp?
    package var lastTime: Timestamp?
    package var anomalies: AnomalyCounts

    package var recordNoun: String { kind == .pcap ? "packets" : "lines" }
}

/// How to read inputs whose format does not say everything (mail logs:
/// RFC 3164 stamps have no year, Exim's no zone).
package struct ScanOptions: Sendable {
    package var clock: LogClock
    /// Payload scanning of reassembled TCP streams (captures only); nil = off.
    package var payload: PayloadMatcher?

    package init(clock: LogClock, payload: PayloadMatcher? = nil) {
        self.clock = clock
        self.payload = payload
    }

    /// Logs read as of now, in UTC.
    package static var standard: ScanOptions {
        ScanOptions(clock: LogClock(reference: Timestamp(seconds: Int64(Date().timeIntervalSince1970))))
    }
}

/// Reads input files from disk in fixed-size chunks, detects what they are
/// by content (pcap magic, else mail-log lines) and drives the matching
/// decoder; with an ``IndicatorSet`` it turns observables into sightings.
package enum CaptureScanner {
    /// Read size: large enough to amortise syscalls, small enough that memory
    /// stays flat whatever the file size.
    package static let chunkSize = 1 << 20
    /// Bytes looked at to tell a capture from a log (magic numbers, NULs in text).
    static let detectionLength = 512

    private enum Decoder {
        case capture(CaptureDecoder)
        case mail(MailLogDecoder)
    }

    /// Every observable of the file at `path`, in file order.
    package static func observables(
        path: String, options: ScanOptions = .standard, chunkSize: Int = chunkSize,
        wanted: (Evidence, ArraySlice<UInt8>) -> Bool = { _, _ in true },
        progress: ((_ bytesRead: Int64, _ fileSize: Int64) -> Void)? = nil, shouldStop: () -> Bool = { false },
        _ emit: (Observable) throws -> Void
    ) throws -> CaptureSummary {
        let fileSize = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ScanError(path: path, reason: "is a directory, not a capture or log file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied?)" : "no such file"
            throw ScanError(path: path, reason: reason)
        }
        defer { try? handle.close() }
        var decoder: Decoder? = nil
        var inflater: GzipInflater? = nil
        var extraAnomalies = AnomalyCounts()
        var compressedBytes: Int64 = 0

        /// Bytes held until there are enough to tell what the input is.
        var head: [UInt8] = []

        /// Detects on the first ``detectionLength`` (decompressed) bytes, then feeds the decoder.
        func process(_ chunk: ArraySlice<UInt8>) throws {
            var chunk = chunk
            if decoder == nil {
                head.append(contentsOf: chunk)
                guard head.count >= CaptureScanner.detectionLength else { return }
                decoder = try detect(head[...], path: path, options: options)
                chunk = head[...]
                head = []
            }
            switch decoder! {
            case .capture(var d):
                decoder = nil  // keep the decoder uniquely referenced while it mutates
                try d.feed(chunk, emit)
                decoder = .capture(d)
            case .mail(var d):
                decoder = nil
                try d.feed(chunk, wanted: wanted, emit)
                decoder = .mail(d)
            }
        }

        do {
            var rawHead: [UInt8]? = []  // the first bytes, until gzip or not is known
            var atEnd = false
            while !atEnd {
                if shouldStop() { throw ScanStopped() }
                let data: Data?
                do {
                    data = try handle.read(upToCount: chunkSize)
                } catch {
                    throw ScanError(path: path, reason: "read failed: \(error.localizedDescription)")
                }
                var chunk: ArraySlice<UInt8>
                if let data, !data.isEmpty {
                    chunk = Array(data)[...]
                    compressedBytes += Int64(chunk.count)
                    progress?(compressedBytes, fileSize)
                } else {
                    atEnd = true
                    chunk = []
                }
                if var head = rawHead {
                    head.append(contentsOf: chunk)
                    guard head.count >= 2 || atEnd else {
                        rawHead = head
                        continue
                    }
                    if head.starts(with: [0x1F, 0x8B]) {
                        do { inflater = try GzipInflater() } catch { throw ScanError(path: path, reason: "cannot start gzip decompression") }
                    }
                    chunk = head[...]
                    rawHead = nil
                }
                if chunk.isEmpty { continue }
                if let inflater {
                    do {
                        try inflater.inflate(chunk, process)
                    } catch GzipInflater.Failure.corrupt {
                        // Keep what decompressed before the damage, as for a corrupt pcap record.
                        extraAnomalies.record(Anomaly("gzip.corrupt_data"))
                        break
                    }
                } else {
                    try process(chunk)
                }
            }
            if decoder == nil, !head.isEmpty {
                decoder = try detect(head[...], path: path, options: options)
                let rest = head
                head = []
                try process(rest[...])
            }
            if let inflater, !inflater.atMemberEnd, decoder != nil {
                extraAnomalies.record(Anomaly("gzip.truncated"))
            }
            switch decoder {
            case nil:
                throw ScanError(path: path, reason: inflater == nil ? "empty file" : "empty or unreadable gzip stream")
            case .capture(var d)?:
                try d.finish(emit)
                var anomalies = d.anomalies
                anomalies.merge(extraAnomalies)
                return CaptureSummary(
                    source: path, kind: .pcap, records: d.recordCount, bytes: compressedBytes, observables: d.observableCount,
                    firstTime: d.firstTime, lastTime: d.lastTime, anomalies: anomalies)
            case .mail(var d)?:
                try d.finish(emit)
                guard d.mailLines > 0 else {
                    throw ScanError(path: path, reason: "neither a capture (pcap) nor a mail log: no Postfix, Exim, Sendmail or Exchange line among \(d.lineCount) lines")
                }
                var anomalies = d.anomalies
                anomalies.merge(extraAnomalies)
                if d.assembler.evicted > 0 { anomalies.record(Anomaly("maillog.message_evicted"), count: d.assembler.evicted) }
                return CaptureSummary(
                    source: path, kind: .maillog, records: d.lineCount, bytes: compressedBytes, observables: d.observableCount,
                    firstTime: d.firstTime, lastTime: d.lastTime, anomalies: anomalies)
            }
        } catch let error as PcapError {
            throw ScanError(path: path, reason: error.description)
        }
    }

    private static func detect(_ first: ArraySlice<UInt8>, path: String, options: ScanOptions) throws -> Decoder {
        if first.count >= 4, CaptureReader.looksLikeCapture(first) {
            return .capture(CaptureDecoder(source: path, payload: options.payload))
        }
        if first.prefix(512).contains(0x00) {
            throw ScanError(path: path, reason: "neither a capture (pcap) nor a mail log (binary data)")
        }
        return .mail(MailLogDecoder(source: path, clock: options.clock))
    }

    /// Every indicator match in the file at `path`: each observable that
    /// matches, once per indicator it matches, in file order.
    package static func matches(
        path: String, indicators: IndicatorSet, options: ScanOptions = .standard,
        progress: ((_ bytesRead: Int64, _ fileSize: Int64) -> Void)? = nil, shouldStop: () -> Bool = { false },
        _ body: (Observable, IndicatorMatch) throws -> Void
    ) throws -> CaptureSummary {
        try observables(path: path, options: options, wanted: indicators.mayMatch, progress: progress, shouldStop: shouldStop) { observable in
            for match in indicators.matches(observable) { try body(observable, match) }
        }
    }

    /// Scans one file for `customerID`'s `sensor` against `indicators`;
    /// sightings are de-duplicated by identity.
    package static func scan(
        path: String, customerID: String, sensor: String, indicators: IndicatorSet, options: ScanOptions = .standard,
        progress: ((_ bytesRead: Int64, _ fileSize: Int64) -> Void)? = nil
    ) throws -> (summary: CaptureSummary, sightings: [Sighting]) {
        var sightings: [Sighting] = []
        var seen = Set<Sighting.Identity>()
        let summary = try matches(path: path, indicators: indicators, options: options, progress: progress) { observable, match in
            let sighting = Sighting(
                indicatorID: match.indicatorID, customerID: customerID, sensor: sensor, time: observable.time,
                evidence: observable.evidence, key: observable.key, source: path, offset: observable.offset,
                observed: observable.value)
            if seen.insert(sighting.identity).inserted { sightings.append(sighting) }
        }
        return (summary, sightings)
    }
}
