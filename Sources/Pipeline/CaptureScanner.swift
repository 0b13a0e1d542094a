import Foundation
import Indicators
import MailLogs
import PacketDecoding
import Synchronization
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
    /// Payload scanning compiled when the first capture turns up (a scan of
    /// mail logs alone does not pay for the automaton); used when `payload` is nil.
    package var payloadOnDemand: PayloadOnDemand?
    /// Threads a scan may use: mail-log lines are parsed on a second thread
    /// while the first assembles messages (``MailLogFeed``); a capture's
    /// flows are dealt out to one decoder per thread (``CaptureFeed``);
    /// 1 = the calling thread alone.
    package var threads: Int

    package init(clock: LogClock, payload: PayloadMatcher? = nil, threads: Int = ScanOptions.defaultThreads) {
        self.clock = clock
        self.payload = payload
        self.threads = threads
    }

    /// The machine's cores, at most two (what the mail-log pipeline can use).
    package static var defaultThreads: Int { min(2, ProcessInfo.processInfo.activeProcessorCount) }

    /// Logs read as of now, in UTC.
    package static var standard: ScanOptions {
        ScanOptions(clock: LogClock(reference: Timestamp(seconds: Int64(Date().timeIntervalSince1970))))
    }
}

/// A ``PayloadMatcher`` compiled the first time it is asked for, then shared.
package final class PayloadOnDemand: Sendable {
    private let indicators: IndicatorSet
    private let compiled = Mutex<PayloadMatcher?>(nil)

    package init(_ indicators: IndicatorSet) {
        self.indicators = indicators
    }

    package func matcher() throws -> PayloadMatcher {
        try compiled.withLock { cached in
            if let cached { return cached }
            let matcher = try PayloadMatcher(indicators)
            cached = matcher
            return matcher
        }
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
        case capture(CaptureFeed)
        case mail(MailLogFeed)
    }

    /// Every observable of the file at `path`, in file order.
    package static func observables(
        path: String, options: ScanOptions = .standard, chunkSize: Int = chunkSize,
        wanted: @escaping @Sendable (Evidence, ArraySlice<UInt8>) -> Bool = { _, _ in true },
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
                decoder = try detect(head[...], path: path, options: options, wanted: wanted)
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
                try d.feed(chunk, emit)
                decoder = .mail(d)
            }
        }

        do {
            var rawHead: [UInt8]? = []  // the first bytes, until gzip or not is known
            var atEnd = false
            while !atEnd {
                if shouldStop() { throw ScanStopped() }
                let data: [UInt8]
                do {
                    data = try readChunk(handle.fileDescriptor, count: chunkSize)
                } catch {
                    throw ScanError(path: path, reason: "read failed: \(error.localizedDescription)")
                }
                var chunk: ArraySlice<UInt8>
                if !data.isEmpty {
                    chunk = data[...]
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
                decoder = try detect(head[...], path: path, options: options, wanted: wanted)
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
            case .mail(var feed)?:
                try feed.finish(emit)
                let d = feed.decoder
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

    /// Reads up to `count` bytes straight into a new array (no `Data` and
    /// no second copy); fewer only at the end of the file.
    private static func readChunk(_ fd: Int32, count: Int) throws(POSIXError) -> [UInt8] {
        var failure: POSIXError? = nil
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var filled = 0
            while filled < count {
                // Invariant: filled < count == buffer.count, so the target lies inside the buffer.
                let n = read(fd, buffer.baseAddress! + filled, count - filled)
                if n > 0 {
                    filled += n
                } else if n == 0 {
                    break
                } else if errno != EINTR {
                    failure = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                    break
                }
            }
            initialized = filled
        }
        if let failure { throw failure }
        return bytes
    }

    private static func detect(
        _ first: ArraySlice<UInt8>, path: String, options: ScanOptions, wanted: @escaping @Sendable (Evidence, ArraySlice<UInt8>) -> Bool
    ) throws -> Decoder {
        if first.count >= 4, CaptureReader.looksLikeCapture(first) {
            let payload: PayloadMatcher?
            do {
                payload = try options.payload ?? options.payloadOnDemand?.matcher()
            } catch {
                throw ScanError(path: path, reason: "cannot compile the payload matcher: \(error)")
            }
            return .capture(CaptureFeed(source: path, payload: payload, threads: options.threads))
        }
        if first.prefix(512).contains(0x00) {
            throw ScanError(path: path, reason: "neither a capture (pcap) nor a mail log (binary data)")
        }
        return .mail(MailLogFeed(decoder: MailLogDecoder(source: path, clock: options.clock), threads: options.threads, wanted: wanted))
    }

    /// Every indicator match in the file at `path`: each observable that
    /// matches, once per indicator it matches, in file order.
    package static func matches(
        path: String, indicators: IndicatorSet, options: ScanOptions = .standard,
        progress: ((_ bytesRead: Int64, _ fileSize: Int64) -> Void)? = nil, shouldStop: () -> Bool = { false },
        _ body: (Observable, IndicatorMatch) throws -> Void
    ) throws -> CaptureSummary {
        try observables(path: path, options: options, wanted: { [indicators] in indicators.mayMatch($0, $1) }, progress: progress, shouldStop: shouldStop) { observable in
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
