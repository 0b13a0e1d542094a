// Store benchmark (issue 7): generates a synthetic deployment with N
// sightings over 5,000 customers in 150 countries and 200 intel campaigns,
// measures the ingest rate through the same write path `scan` uses, then how
// long the report takes (whole window and a 90-day window), and prints one
// JSON object. Usage:
//
//   geneva-storebench [--sightings N] [--db PATH] [--keep] [--report-only]
//
// Deterministic (SplitMix64, fixed seed). Shape: 40 actors (30 with one of
// 12 countries, 10 criminal), 200 campaigns of 10 domains each, 1,000
// indicators without campaign (clustered by correlate); each campaign targets
// 60 customers, each targeted customer beacons to 1–3 of its domains on
// active days over one year.
import Foundation
import Storage
import TelemetryModel

struct Rng {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

var total = 10_000_000
var path = "/tmp/geneva-storebench.sqlite"
var keep = false
var reportOnly = false
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
    switch a {
    case "--sightings": total = Int(args.next() ?? "") ?? total
    case "--db": path = args.next() ?? path
    case "--keep": keep = true
    case "--report-only": reportOnly = true
    default:
        FileHandle.standardError.write(Data("usage: geneva-storebench [--sightings N] [--db PATH] [--keep] [--report-only]\n".utf8))
        exit(2)
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

do {
    var result: [(String, String)] = []
    if !reportOnly { result.append(("sightings", String(total))) }
    if !reportOnly {
        if path.hasPrefix("postgres") {
            try PostgresStore.dropSchema(url: path)
        } else {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let store = try openStore(path)
        var rng = Rng(state: 42)
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let countries = (0..<150).map { i in CountryCode(String([letters[i / 26 + 1], letters[i % 26]]))! }
        let actorCountries = Array(countries.prefix(12))
        var statements: [IntelStatement] = []
        let from = Timestamp(parsing: "2025-01-01")!
        for campaign in 0..<200 {
            let actor = campaign % 40
            for d in 0..<10 {
                statements.append(IntelStatement(
                    kind: .domain, value: "c\(campaign)-d\(d).example", actor: "Actor \(actor)",
                    actorCountry: actor < 30 ? actorCountries[actor % 12] : nil, campaign: "Campaign \(campaign)", validFrom: from))
            }
        }
        for u in 0..<1000 {
            statements.append(IntelStatement(kind: .domain, value: "u\(u).example", actor: u % 2 == 0 ? "Actor \(u % 40)" : nil,
                                             actorCountry: u % 2 == 0 && u % 40 < 30 ? actorCountries[(u % 40) % 12] : nil, validFrom: from))
        }
        _ = try store.importIntel(source: "bench-intel.csv", format: "csv", statements: statements, skipped: [:])
        let customers = (0..<5000).map { i in Customer(id: "cust\(i)", name: "Customer \(i)", country: countries[i % 150]) }
        _ = try store.importCustomers(customers)
        var ids: [String: Int64] = [:]
        for e in try store.indicatorEntries() { ids[e.value] = e.indicatorID }

        // Campaign targets: 60 customers each; unattributed indicators hit
        // random customers. 98 % of sightings belong to campaigns.
        let year: Int64 = 365 * 86_400_000_000_000
        let start = Timestamp(parsing: "2025-06-01")!.nanoseconds
        let batch = 100_000
        var written = 0
        var inserted = 0
        var storeSeconds = 0.0
        let ingest = try seconds {
            var file = 0
            while written < total {
                var sightings: [Sighting] = []
                sightings.reserveCapacity(batch)
                for _ in 0..<min(batch, total - written) {
                    let value: String
                    let cust: Int
                    if rng.below(50) == 0 {
                        value = "u\(rng.below(1000)).example"
                        cust = rng.below(5000)
                    } else {
                        let campaign = rng.below(200)
                        value = "c\(campaign)-d\(rng.below(3)).example"
                        cust = (campaign * 613 + rng.below(60) * 83) % 5000
                    }
                    let t = start + Int64(rng.next() % UInt64(year))
                    sightings.append(Sighting(
                        indicatorID: ids[value]!, customerID: "cust\(cust)", sensor: "s\(cust % 3)", time: Timestamp(nanoseconds: t),
                        evidence: .dnsQuery, key: "udp 10.\(cust / 256 % 256).\(cust % 256).2:\(40000 + rng.below(20000)) -> 10.0.0.1:53",
                        source: "bench-\(file).pcap", offset: Int64(written), observed: value))
                    written += 1
                }
                // One transaction per generated "file", as `scan` writes; the
                // scan row names customer 0 (coverage only).
                let batchStart = DispatchTime.now().uptimeNanoseconds
                defer { storeSeconds += Double(DispatchTime.now().uptimeNanoseconds - batchStart) / 1e9 }
                inserted += try store.recordScan(
                    .init(customerID: sightings[0].customerID, sensor: sightings[0].sensor, source: "bench-\(file).pcap",
                          firstTime: nil, lastTime: nil, records: sightings.count, observables: sightings.count, anomalies: [:]),
                    sightings: sightings)
                file += 1
                if file % 10 == 0 { log("ingested \(written)") }
            }
        }
        // `ingest` includes generating the sightings; `store` is recordScan alone.
        result += [("inserted", String(inserted)), ("ingest_seconds", String(format: "%.1f", ingest)),
                   ("ingest_per_second", String(Int(Double(inserted) / ingest))),
                   ("store_seconds", String(format: "%.1f", storeSeconds)),
                   ("store_per_second", String(Int(Double(inserted) / storeSeconds)))]
        var summary: CorrelationSummary? = nil
        let correlate = try seconds { summary = try store.correlate() }
        result += [("correlate_seconds", String(format: "%.1f", correlate)), ("clustered_campaigns", String(summary!.campaigns))]
    }
    let store = try openStore(path)
    if reportOnly { result.append(("sightings", String(try store.sightingCount()))) }
    var report: NationStateReport? = nil
    var times: [Double] = []
    for _ in 0..<3 { times.append(try seconds { report = try store.nationStateReport(window: TimeWindow()) }) }
    var window = TimeWindow()
    window.since = Timestamp(parsing: "2026-01-01")
    window.until = Timestamp(parsing: "2026-04-01")
    var windowTimes: [Double] = []
    for _ in 0..<3 { windowTimes.append(try seconds { _ = try store.nationStateReport(window: window) }) }
    let t = report!.totals
    result += [
        ("report_seconds_median", String(format: "%.2f", times.sorted()[1])),
        ("report_90d_seconds_median", String(format: "%.2f", windowTimes.sorted()[1])),
        ("nation_state", "\(t.customers) customers, \(t.countries) countries, \(t.actors) actors, \(t.campaigns) campaigns, \(t.sightings) sightings"),
    ]
    print("{" + result.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}")
    if !keep && !reportOnly {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
} catch {
    log("geneva-storebench: \(error)")
    exit(1)
}
