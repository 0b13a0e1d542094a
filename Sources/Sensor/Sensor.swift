import AsyncHTTPClient
import Foundation
import Indicators
import Logging
import MailLogs
import NIOCore
import Pipeline
import ServiceLifecycle
import Storage
import Synchronization
import TelemetryModel
import WireParsing

/// `geneva sensor`: sources (live interfaces, watched directories, followed
/// mail logs) matched against hot-reloadable intel into a local spool, which
/// a shipper empties into `geneva serve` (or a store). Each part is a
/// service of one ServiceGroup: SIGTERM stops the sources first (each
/// flushes what it holds into the spool), then the shipper makes a last
/// delivery attempt, and the process exits 0.
package final class Sensor: Sendable {
    package let settings: SensorSettings
    package let spool: Spool
    package let intel: IntelHolder
    package let metrics = SensorMetrics()
    private let loader: IntelLoader
    private let logger: Logger
    private let reloadRequested = Atomic<Bool>(false)

    package init(settings: SensorSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: settings.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw SensorError("state_directory \(settings.stateDirectory): cannot be created: \(error.localizedDescription)")
        }
        spool = try Spool(path: settings.spoolPath)
        loader = IntelLoader(files: settings.intelFiles, scratchDirectory: settings.stateDirectory, payload: settings.payload)
        let loaded = try loader.load(generation: 1)
        for line in loaded.lines { logger.info("intel: \(line)") }
        logger.info("intel: \(loaded.snapshot.indicators.count) indicators loaded (generation 1)")
        intel = IntelHolder(loaded.snapshot)
        metrics.intel(indicators: loaded.snapshot.indicators.count, generation: 1)
    }

    /// Sightings set aside because the receiver refused them go back in the
    /// queue (at start, and after an intel reload: the operator fixed intel
    /// or customers on both sides).
    private func requeueRejected() {
        do {
            let moved = try spool.requeueRejected()
            if moved > 0 { logger.info("shipping: \(moved) set-aside sightings queued again") }
        } catch {
            logger.error("\(error)")
        }
    }

    /// Asks for an intel reload (SIGHUP).
    package func requestReload() { reloadRequested.store(true, ordering: .relaxed) }

    /// The services, in start order (they stop in the reverse order).
    package func services(extra: [any Service] = []) throws -> [any Service] {
        let shipper: any Service
        if let url = settings.upstreamURL {
            let token = settings.upstreamToken ?? ""
            // Made when the shipper runs (an HTTP client must be shut down by its owner).
            shipper = Shipper(
                spool: spool, makeDelivery: { HTTPDelivery(url: url, token: token) }, batch: settings.upstreamBatch,
                maxBackoff: settings.upstreamMaxBackoffSeconds, metrics: metrics, logger: logger)
        } else if let location = settings.store {
            let store: any GenevaStore
            do { store = try openStore(location) } catch { throw SensorError(error.description) }
            let delivery = StoreDelivery(store: store)
            shipper = Shipper(
                spool: spool, makeDelivery: { delivery }, batch: settings.upstreamBatch, maxBackoff: settings.upstreamMaxBackoffSeconds,
                metrics: metrics, logger: logger)
        } else {
            shipper = SpoolGauge(spool: spool, metrics: metrics)
            logger.warning("neither upstream.url nor db/database_url set: sightings stay in the spool \(spool.path)")
        }
        var services: [any Service] = [shipper]
        services += extra
        services.append(
            ThreadService(name: "intel") { [self] stop in
                requeueRejected()  // at start (not for `--check`), and after each reload
                try self.watchIntel(stop)
            })
        for name in settings.interfaces {
            // Opened here, so that a bad interface or filter stops the start-up.
            let capture = try LiveCapture(interface: name, settings: settings.capture)
            let box = UncheckedBox(capture)
            services.append(ThreadService(name: "capture \(name)") { [self] stop in try self.capture(box.take(), stop) })
        }
        if !settings.watchDirectories.isEmpty {
            services.append(ThreadService(name: "watch") { [self] stop in try self.watch(stop) })
        }
        if !settings.logFiles.isEmpty {
            services.append(ThreadService(name: "logs") { [self] stop in try self.follow(stop) })
        }
        return services
    }

    // MARK: - Intel

    private func watchIntel(_ stop: StopFlag) throws {
        var fingerprint = loader.fingerprint()
        var generation = intel.current.generation
        var lastCheck = Date()
        while !stop.wait(milliseconds: 250) {
            let requested = reloadRequested.exchange(false, ordering: .relaxed)
            guard requested || Date().timeIntervalSince(lastCheck) >= settings.intelPollSeconds else { continue }
            lastCheck = Date()
            let now = loader.fingerprint()
            guard requested || now != fingerprint else { continue }
            // Files still being written may fail to parse: a failed load keeps
            // the snapshot in use and is retried at the next change or SIGHUP.
            fingerprint = now
            do {
                let loaded = try loader.load(generation: generation + 1)
                generation += 1
                intel.replace(loaded.snapshot)
                metrics.intel(indicators: loaded.snapshot.indicators.count, generation: generation)
                requeueRejected()
                metrics.intelReload(succeeded: true)
                logger.info("intel: reloaded (\(requested ? "SIGHUP" : "files changed")): \(loaded.snapshot.indicators.count) indicators, generation \(generation)")
            } catch {
                metrics.intelReload(succeeded: false)
                logger.error("intel: reload failed, the previous intel stays in use: \(error)")
            }
        }
    }

    // MARK: - Sources

    /// One interface's loop. A read error (the interface went away) is
    /// logged, what is pending is spooled, and the interface is opened again
    /// with backoff; the other sources go on meanwhile.
    private func capture(_ opened: LiveCapture, _ stop: StopFlag) throws {
        let name = opened.interface
        var capture: LiveCapture? = opened
        let source = "live:\(name)"
        var decoder = CaptureDecoder(source: source, payload: intel.current.payload)
        var generation = intel.current.generation
        var pending: [SightingUpload] = []
        var seen = Set<SightingUpload>()
        var packetNumber: Int64 = 0
        var lastFlush = Date()
        var reported = (packets: 0, flows: 0, bytes: 0)
        var bytes = 0
        var anomalies = AnomalyCounts()
        var failures = 0
        var reopenDelay = 1000
        logger.info("capture on \(name): started (link type \(opened.linkType))")
        func collect(_ o: Observable, _ indicators: IndicatorSet) {
            for m in indicators.matches(o) {
                let upload = SightingUpload(o, m, customer: settings.customer, sensor: settings.sensor, source: source)
                if seen.insert(upload).inserted { pending.append(upload) }
            }
        }
        func flush() throws {
            let added = try spool.append(pending)
            metrics.source(
                source, packets: decoder.recordCount - reported.packets, bytes: bytes - reported.bytes, flows: decoder.flowCount - reported.flows,
                sightings: added)
            reported = (decoder.recordCount, decoder.flowCount, bytes)
            metrics.anomalies(decoder.anomalies, previous: &anomalies)
            if let s = capture?.stats() {
                metrics.interface(name, received: s.received, dropped: s.dropped, interfaceDropped: s.interfaceDropped)
            }
            pending.removeAll(keepingCapacity: true)
            seen.removeAll(keepingCapacity: true)
            lastFlush = Date()
        }
        while !stop.isSet {
            guard let handle = capture else {
                if stop.wait(milliseconds: reopenDelay) { break }
                do {
                    capture = try LiveCapture(interface: name, settings: settings.capture)
                    logger.info("capture on \(name): open again")
                    reopenDelay = 1000
                } catch {
                    reopenDelay = min(reopenDelay * 2, 30_000)
                }
                continue
            }
            let snapshot = intel.current
            if snapshot.generation != generation {
                decoder.replacePayload(snapshot.payload)
                generation = snapshot.generation
            }
            let emit: (Observable) -> Void = { collect($0, snapshot.indicators) }
            do {
                _ = try handle.dispatch(waitMilliseconds: settings.capture.timeoutMilliseconds) { packet in
                    packetNumber += 1
                    bytes += packet.originalLength
                    do {
                        try decoder.packet(
                            Array(packet.data)[...], linkType: handle.linkType, time: packet.nanoseconds, offset: packetNumber, emit)
                    } catch {
                        failures += 1  // emit does not throw; counted should that change
                    }
                }
            } catch {
                logger.error("\(error); opening it again with backoff")
                try flush()
                capture = nil
                continue
            }
            if pending.count >= 1024 || Date().timeIntervalSince(lastFlush) >= 1 { try flush() }
        }
        // Streams still open are finished, as at the end of a file.
        let last = intel.current.indicators
        try decoder.finishStreams { collect($0, last) }
        try flush()
        if failures > 0 { logger.error("capture on \(name): \(failures) packets could not be decoded") }
        logger.info("capture on \(name): stopped after \(decoder.recordCount) packets")
    }

    private func watch(_ stop: StopFlag) throws {
        var options = ScanOptions.standard
        options.clock.utcOffsetSeconds = settings.logUTCOffsetSeconds
        // A sensor capturing live keeps a core for its interfaces: watched files then scan on one thread.
        if !settings.interfaces.isEmpty { options.threads = 1 }
        let watchers = settings.watchDirectories.map {
            DirectoryWatcher(
                directory: $0, spool: spool, customer: settings.customer, sensor: settings.sensor, settle: settings.watchSettleSeconds,
                options: options)
        }
        var anomalies = [AnomalyCounts](repeating: AnomalyCounts(), count: watchers.count)
        var packets = [Int64](repeating: 0, count: watchers.count)
        repeat {
            for (i, w) in watchers.enumerated() {
                let step = try w.step(intel.current, stop: { stop.isSet })
                for m in step.messages { logger.info("watch: \(m)") }
                metrics.source("dir:\(w.directory)", packets: Int(w.packets - packets[i]), files: step.files, sightings: step.sightings)
                packets[i] = w.packets
                metrics.anomalies(w.anomalies, previous: &anomalies[i])
            }
        } while !stop.wait(milliseconds: Int(settings.watchPollSeconds * 1000))
    }

    private func follow(_ stop: StopFlag) throws {
        var clock = LogClock(reference: Timestamp(seconds: Int64(Date().timeIntervalSince1970)))
        clock.utcOffsetSeconds = settings.logUTCOffsetSeconds
        let followers = settings.logFiles.map {
            LogFollower(
                path: $0, spool: spool, customer: settings.customer, sensor: settings.sensor, clock: clock, startAtEnd: settings.logsStartAtEnd,
                renameGrace: settings.logsRenameGraceSeconds)
        }
        var anomalies = [AnomalyCounts](repeating: AnomalyCounts(), count: followers.count)
        repeat {
            let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
            for (i, f) in followers.enumerated() {
                let step = try f.step(intel.current, now: now)
                for m in step.messages { logger.info("logs: \(m)") }
                metrics.source("log:\(f.path)", lines: step.lines, sightings: step.sightings)
                metrics.anomalies(f.anomalies, previous: &anomalies[i])
            }
        } while !stop.wait(milliseconds: settings.logsPollMilliseconds)
    }
}

// MARK: - Shipping

/// Where spooled sightings are delivered.
protocol Delivery: Sendable {
    /// Delivers a batch within `timeout` seconds; returns normally only when
    /// it is stored for good.
    func deliver(_ batch: [SightingUpload], timeout: Double) async throws(DeliveryError)
    /// Releases connections (end of shipping).
    func close() async
}

struct DeliveryError: Error, CustomStringConvertible {
    var description: String
    /// The batch is too large for the receiver: retry with a smaller one.
    var tooLarge = false
    /// The receiver refused the batch for good because of this sighting
    /// (its index in the batch): resending it would fail the same way.
    var refused: Int? = nil
    /// The receiver refused the batch for good without naming a sighting.
    var refusedBatch = false
}

/// `POST /v1/sightings` of a `geneva serve`, NDJSON, bearer token.
struct HTTPDelivery: Delivery {
    let url: String
    let token: String
    let client: HTTPClient

    init(url: String, token: String) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.token = token
        var configuration = HTTPClient.Configuration()
        // A server that is down fails the attempt within seconds; the
        // shipper's own backoff (with metrics and a log line) does the retrying.
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(60))
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func close() async { try? await client.shutdown() }

    func deliver(_ batch: [SightingUpload], timeout: Double) async throws(DeliveryError) {
        var body = ByteBuffer()
        for s in batch {
            body.writeString(s.ndjsonLine)
            body.writeInteger(UInt8(ascii: "\n"))
        }
        var request = HTTPClientRequest(url: url + "/v1/sightings")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/x-ndjson")
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(max(0.1, timeout) * 1000)))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            switch response.status.code {
            case 200..<300: return
            case 413: throw DeliveryError(description: "413 from \(url): batch of \(batch.count) too large", tooLarge: true)
            case 422:
                // problem+json with the 1-based `line` of the refused sighting.
                var error = DeliveryError(description: "422 from \(url): \(text.prefix(300))")
                if let line = (try? JSONParser.parse(Array(text.utf8)))?["line"]?.int, (1...batch.count).contains(line) {
                    error.refused = line - 1
                } else {
                    error.refusedBatch = true
                }
                throw error
            default: throw DeliveryError(description: "\(response.status.code) from \(url): \(text.prefix(300))")
            }
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw DeliveryError(description: "\(url): \(error)")
        }
    }
}

/// The store itself (no upstream): what `serve` does with an upload;
/// campaigns are re-clustered at most once a minute.
final class StoreDelivery: Delivery {
    let store: any GenevaStore
    /// When clustering last ran, and the sightings it found not needing it.
    private let lastCorrelation = Mutex<(at: Date, checkedThrough: Int64)>((.distantPast, 0))

    init(store: any GenevaStore) { self.store = store }

    func close() async {}

    func deliver(_ batch: [SightingUpload], timeout: Double) async throws(DeliveryError) {
        do {
            _ = try store.recordUploads(batch)
            let due: Int64? = lastCorrelation.withLock { last in
                guard Date().timeIntervalSince(last.at) >= 60 else { return nil }
                last.at = Date()
                return last.checkedThrough
            }
            if let checked = due {
                let covered = try store.correlateIfNeeded(checkedThrough: checked).checkedThrough
                lastCorrelation.withLock { $0.checkedThrough = covered }
            }
        } catch {
            var failure = DeliveryError(description: "store \(store.location): \(error.description)")
            if error.code == .rejectedUpload {
                if let item = error.item { failure.refused = item } else { failure.refusedBatch = true }
            }
            throw failure
        }
    }
}

/// Empties the spool into a ``Delivery``: oldest first, in batches; a batch
/// leaves the spool only once delivered (the receiver is idempotent by
/// sighting identity, so a batch delivered but not yet deleted when the
/// sensor dies is delivered again harmlessly). Failures back off
/// exponentially with jitter, up to `maxBackoff` seconds. A sighting the
/// receiver refuses for good (422: an indicator or customer it does not
/// know) is set aside in the spool with the reason, so it cannot hold up
/// the others; set-aside sightings are queued again on intel reload.
struct Shipper: Service {
    let spool: Spool
    let makeDelivery: @Sendable () -> any Delivery
    let batch: Int
    let maxBackoff: Double
    let metrics: SensorMetrics
    let logger: Logger
    /// On shutdown, how long delivery of what is left is attempted.
    static let finalAttemptSeconds: Double = 10
    /// A request's longest wait before shutdown.
    static let requestSeconds: Double = 60

    init(
        spool: Spool, makeDelivery: @escaping @Sendable () -> any Delivery, batch: Int, maxBackoff: Double, metrics: SensorMetrics,
        logger: Logger
    ) {
        self.spool = spool
        self.makeDelivery = makeDelivery
        self.batch = batch
        self.maxBackoff = maxBackoff
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        let deliver = makeDelivery()
        do {
            try await ship(deliver)
        } catch {
            await deliver.close()
            throw error
        }
        await deliver.close()
    }

    private func ship(_ deliver: any Delivery) async throws {
        var size = batch
        var backoff = 0.5
        var failing = false
        // Until shutdown: ship, or wait for more; then one last attempt to empty the spool.
        var deadline: Date? = nil
        while true {
            if deadline == nil, Task.isShuttingDownGracefully || Task.isCancelled { deadline = Date().addingTimeInterval(Self.finalAttemptSeconds) }
            let entries = try spool.oldest(size)
            let depth = try spool.depth()
            metrics.spool(depth: depth.count, oldestSpooledAt: depth.oldestSpooledAt, setAside: depth.setAside)
            if entries.isEmpty {
                if deadline != nil { return }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
                continue
            }
            let timeLeft = deadline.map { $0.timeIntervalSinceNow } ?? Self.requestSeconds
            if timeLeft <= 0 {
                logger.warning("shipping: \(depth.count) sightings stay in the spool for the next start")
                return
            }
            do {
                let uploads = entries.map(\.upload)
                if deadline == nil {
                    // A shutdown cuts a request in flight; the final attempt sends it again.
                    try await cancelWhenGracefulShutdown { try await deliver.deliver(uploads, timeout: Self.requestSeconds) }
                } else {
                    try await deliver.deliver(uploads, timeout: timeLeft)
                }
                try spool.acknowledge(through: entries.last!.id)
                metrics.shipped(entries.count)
                if failing { logger.info("shipping: delivering again") }
                failing = false
                backoff = 0.5
                size = min(batch, size * 2)
            } catch let error as DeliveryError {
                metrics.shipFailed()
                if error.tooLarge, size > 1 {
                    size = max(1, size / 2)
                    continue
                }
                // Refused for good: set aside what was refused, ship the rest at once.
                // The receiver names the first line it refuses; the batch's other
                // sightings of the same unknown customer or indicator go with it.
                let refused: [Spool.Entry]
                if let i = error.refused {
                    let bad = entries[i].upload
                    if error.description.contains("unknown customer") {
                        refused = entries.filter { $0.upload.customerID == bad.customerID }
                    } else if error.description.contains("not an indicator") {
                        refused = entries.filter { $0.upload.indicatorKind == bad.indicatorKind && $0.upload.indicatorValue == bad.indicatorValue }
                    } else {
                        refused = [entries[i]]
                    }
                } else if error.refusedBatch || error.tooLarge {
                    refused = entries
                } else {
                    refused = []
                }
                if !refused.isEmpty {
                    try spool.setAside(ids: refused.map(\.id), reason: error.description)
                    metrics.setAside(refused.count)
                    logger.error("shipping: \(refused.count) sighting(s) refused by the receiver, set aside in the spool (queued again on intel reload): \(error.description)")
                    continue
                }
                if deadline == nil, Task.isShuttingDownGracefully { continue }  // cut by the shutdown
                if !failing { logger.error("shipping failed (retrying with backoff): \(error.description)") }
                failing = true
                let wait = backoff * Double.random(in: 0.5...1.0)
                backoff = min(maxBackoff, backoff * 2)
                if deadline != nil {
                    try? await Task.sleep(for: .milliseconds(Int(min(wait, 1) * 1000)))
                } else {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
                }
            } catch is CancellationError {
                continue  // the shutdown ended the request: on to the final attempt
            } catch {
                // The spool itself failed (disk full, locked): wait, then try again.
                metrics.shipFailed()
                logger.error("shipping: \(error)")
                if deadline != nil { return }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            }
        }
    }
}

/// With nowhere to ship to, only keeps the spool gauges current.
struct SpoolGauge: Service {
    let spool: Spool
    let metrics: SensorMetrics

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let depth = try spool.depth()
            metrics.spool(depth: depth.count, oldestSpooledAt: depth.oldestSpooledAt, setAside: depth.setAside)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}

// MARK: - Threads as services

/// A stop request a source's thread polls, and can sleep on.
package final class StopFlag: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let condition = NSCondition()

    package init() {}

    package var isSet: Bool { stopped.load(ordering: .acquiring) }

    package func set() {
        condition.lock()
        stopped.store(true, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps up to `milliseconds`; true if stopped (now or meanwhile).
    package func wait(milliseconds: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if isSet { return true }
        _ = condition.wait(until: Date().addingTimeInterval(Double(milliseconds) / 1000))
        return isSet
    }
}

/// A blocking loop (libpcap, file reads, SQLite) on its own thread, as a
/// service: graceful shutdown or cancellation sets its ``StopFlag``; the
/// service ends when the loop returns (an error ends the group).
struct ThreadService: Service {
    let name: String
    let body: @Sendable (StopFlag) throws -> Void

    func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        do {
                            try body(stop)
                            done.resume()
                        } catch {
                            done.resume(throwing: error)
                        }
                    }
                    thread.name = "geneva \(name)"
                    thread.start()
                }
            } onCancel: {
                stop.set()
            }
        } onGracefulShutdown: {
            stop.set()
        }
    }
}

/// Hands a non-Sendable value made on one thread to the one thread that
/// uses it afterwards (a libpcap handle opened at start-up).
final class UncheckedBox<T>: @unchecked Sendable {
    // Invariant: `take()` is called once, by the thread that then owns the value.
    private var value: T?
    init(_ value: T) { self.value = value }
    func take() -> T {
        let v = value!
        value = nil
        return v
    }
}
