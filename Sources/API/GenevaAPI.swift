import Foundation
import Hummingbird
import Metrics
import NIOPosix
import Reporting
import Storage
import TelemetryModel
import WireParsing

/// `geneva serve`'s HTTP API (docs/api.yaml): sensors ship sightings,
/// analysts read the report, campaigns and sightings as the CLI prints them
/// in JSON. Every error is `application/problem+json` (RFC 9457).
package enum GenevaAPI {
    /// Every route, as docs/api.yaml lists them (a test compares the two).
    package static let routes: [(method: String, path: String)] = [
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/v1/report"),
        ("GET", "/v1/campaigns"),
        ("GET", "/v1/campaigns/{id}"),
        ("GET", "/v1/sightings"),
        ("POST", "/v1/sightings"),
    ]

    package struct Settings: Sendable {
        package var tokens: TokenBook
        /// Largest accepted request body (413 beyond it).
        package var maxBodyBytes: Int

        /// The metrics in Prometheus' text format (`GET /metrics`), from the
        /// registry the process bootstrapped swift-metrics with.
        package var metricsText: @Sendable () -> String

        package init(tokens: TokenBook, maxBodyBytes: Int = Settings.defaultMaxBodyBytes, metricsText: @escaping @Sendable () -> String = { "" }) {
            self.tokens = tokens
            self.maxBodyBytes = maxBodyBytes
            self.metricsText = metricsText
        }

        /// 16 MiB: ~40,000 sightings per request, a few seconds of a busy sensor.
        package static let defaultMaxBodyBytes = 16 << 20
    }

    package static func router(store: any GenevaStore, settings: Settings) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Requests by route and status, and their durations (Hummingbird's `hb_…` metrics).
        router.add(middleware: MetricsMiddleware())
        let received = Counter(label: "geneva_sightings_received_total")
        let stored = Counter(label: "geneva_sightings_stored_total")
        let rejected = Counter(label: "geneva_upload_batches_rejected_total")
        router.get("/metrics") { _, _ in metrics(settings.metricsText()) }
        let correlation = CorrelationScheduler(store: store)
        router.get("/healthz") { _, _ in
            try await blocking { _ = try store.hasSightings() }
            let idle = await correlation.isIdle
            return json(.object([("status", .string("ok")), ("correlation", .string(idle ? "idle" : "running"))]))
        }
        router.get("/v1/report") { request, _ in
            try authorize(request, .analyst, settings)
            let window = try window(request)
            let report = try await blocking { try store.nationStateReport(window: window) }
            return json(ReportRenderer.json(report))
        }
        router.get("/v1/campaigns") { request, _ in
            try authorize(request, .analyst, settings)
            let window = try window(request)
            var country: CountryCode? = nil
            if let text = request.uri.queryParameters.get("actor_country") {
                guard let code = CountryCode(text.uppercased()) else { throw Problem(.badRequest, "actor_country: not an ISO 3166 alpha-2 code") }
                country = code
            }
            let filter = country
            let rows = try await blocking { try store.campaigns(window: window, actorCountry: filter) }
            return json(.array(rows.map(ReportRenderer.campaignJSON)))
        }
        router.get("/v1/campaigns/{id}") { request, context in
            try authorize(request, .analyst, settings)
            let window = try window(request)
            let id = try context.parameters.require("id")
            guard let detail = try await blocking({ try store.campaign(id: id, window: window) }) else {
                throw Problem(.notFound, "no campaign \(id.prefix(80).debugDescription) with sightings in the window")
            }
            return json(ReportRenderer.campaignEvidenceJSON(
                detail.campaign, evidence: detail.evidence.map { ($0.sighting, $0.reason, $0.via, $0.why) }))
        }
        router.get("/v1/sightings") { request, _ in
            try authorize(request, .analyst, settings)
            let window = try window(request)
            let customer = request.uri.queryParameters.get("customer")
            let campaign = request.uri.queryParameters.get("campaign")
            let rows = try await blocking { try store.sightings(window: window, customerID: customer, campaignID: campaign) }
            return json(.array(rows.map(SightingExport.json)))
        }
        router.post("/v1/sightings") { request, _ in
            try authorize(request, .sensor, settings)
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: settings.maxBodyBytes)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw Problem(.contentTooLarge, "request body over \(settings.maxBodyBytes) bytes; send smaller batches")
            }
            let uploads: [SightingUpload]
            do {
                uploads = try SightingUploadParser.parse(Array(body.readableBytesView))
            } catch let error as SightingUploadParser.LineError {
                rejected.increment()
                throw Problem(.unprocessableContent, "\(error); nothing of this batch was stored", line: error.line)
            }
            let new: Int
            do {
                new = try await blocking { try store.recordUploads(uploads) }
            } catch let error as StorageError where error.code == .rejectedUpload {
                rejected.increment()
                let line = error.item.map { lineNumber(ofItem: $0, in: Array(body.readableBytesView)) }
                throw Problem(.unprocessableContent, "\(line.map { "line \($0): " } ?? "")\(error.detail); nothing of this batch was stored", line: line)
            }
            received.increment(by: uploads.count)
            stored.increment(by: new)
            if new > 0 { await correlation.poke() }
            return json(.object([("received", .int(uploads.count)), ("stored", .int(new)), ("duplicates", .int(uploads.count - new))]))
        }
        return router
    }

    // MARK: Helpers

    /// Runs blocking store work on NIO's thread pool, off the event loops and
    /// the concurrency pool. A store failure is a 500 with its message.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await NIOThreadPool.singleton.runIfActive(work)
        } catch let error as StorageError where error.code != .rejectedUpload {
            throw Problem(.internalServerError, "store: \(error.detail)")
        }
    }

    /// 401 without a known token, 403 with a token of another role.
    static func authorize(_ request: Request, _ role: Role, _ settings: Settings) throws {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw Problem(.unauthorized, "a bearer token is required (Authorization: Bearer …)")
        }
        let roles = settings.tokens.roles(of: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        guard !roles.isEmpty else { throw Problem(.unauthorized, "unknown token") }
        guard roles.contains(role) else { throw Problem(.forbidden, "this token is not a \(role.rawValue) token") }
    }

    /// `since` / `until` query parameters (RFC 3339 or YYYY-MM-DD, UTC).
    static func window(_ request: Request) throws -> TimeWindow {
        var window = TimeWindow()
        for (name, set) in [("since", { (t: Timestamp) in window.since = t }), ("until", { (t: Timestamp) in window.until = t })] {
            if let text = request.uri.queryParameters.get(name) {
                guard let t = Timestamp(parsing: text) else { throw Problem(.badRequest, "\(name): not a date (RFC 3339 or YYYY-MM-DD)") }
                set(t)
            }
        }
        return window
    }

    /// `/metrics`: Prometheus' text format (also the sensor's).
    package static func metrics(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    package static func json(_ value: JSONValue) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized(pretty: true) + "\n")))
    }

    /// The 1-based line of the `item`-th non-blank line of an NDJSON body.
    static func lineNumber(ofItem item: Int, in body: [UInt8]) -> Int {
        var seen = -1
        var line = 0
        for text in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            line += 1
            if text.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) {
                seen += 1
                if seen == item { return line }
            }
        }
        return line
    }
}

/// An `application/problem+json` error response (RFC 9457).
struct Problem: HTTPResponseError {
    var status: HTTPResponse.Status
    var detail: String
    /// NDJSON bodies: the line at fault.
    var line: Int?

    init(_ status: HTTPResponse.Status, _ detail: String, line: Int? = nil) {
        self.status = status
        self.detail = detail
        self.line = line
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields: [(String, JSONValue)] = [
            ("type", .string("about:blank")), ("title", .string(status.reasonPhrase)), ("status", .int(status.code)), ("detail", .string(detail)),
        ]
        if let line { fields.append(("line", .int(line))) }
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(fields).serialized() + "\n")))
    }
}
