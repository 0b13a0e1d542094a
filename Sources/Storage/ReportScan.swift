import Foundation
import GRDB
import GRDBSQLite
import TelemetryModel

/// The report's numbers in one pass over the window's sightings, read from
/// the sighting packs (`SightingPack`: fixed-width records in blobs, a few
/// thousand per SQLite row), no join per row. Intel is loaded once into
/// dense arrays (indicator → statements with validity, campaign, actor), and
/// the distinct counts of SPEC §4/§6 are kept as bit matrices.
///
/// It computes exactly what `GenevaStore.attributedCTE` defines (the SQL
/// version stays as the oracle of a differential test): per sighting, the
/// distinct (campaign, actor) pairs of the statements valid at its time,
/// the campaign being the statement's, else the clustered campaign the
/// sighting is in, and the actor the statement's, else its campaign's.
package struct ReportScan: Sendable {
    // Dimensions, loaded once.
    private var customerIndex: [Int32] = []  // customer number (`customer.n`) → dense customer
    private var victimOf: [Int32] = []  // dense customer → dense victim country
    private var victims: [String] = []
    private var actorIDs: [Int64] = []
    private var actorNames: [String] = []
    private var actorCountry: [Int32] = []  // dense actor → dense actor country, -1 unknown
    private var actorCountries: [String] = []
    private var campaignIDs: [Int64] = []
    private var campaignKeys: [String] = []
    private var campaignNames: [String] = []
    private var campaignOrigins: [String] = []
    private var campaignActor: [Int32] = []
    private var campaignConfidence: [Int?] = []
    // Statements per indicator id: entries[entryStart[id] ..< entryStart[id + 1]].
    private var entryStart: [Int32] = []
    private var entryFrom: [Int64] = []
    private var entryUntil: [Int64] = []
    private var entryCampaign: [Int32] = []
    private var entryActor: [Int32] = []
    private var clusterOf: [Int64: Int32] = [:]

    /// Loads the dimensions (small next to the sightings).
    init(_ db: any SQLSession) throws {
        var customerDense: [Int64: Int32] = [:]
        var victimDense: [String: Int32] = [:]
        var maxRow: Int64 = 0
        var rows: [(Int64, String)] = []
        for row in try db.rows("SELECT n, country FROM customer WHERE n IS NOT NULL AND n >= 0 ORDER BY n") {
            rows.append((try row.int64(0), try row.string(1)))
            maxRow = max(maxRow, try row.int64(0))
        }
        customerIndex = [Int32](repeating: -1, count: Int(maxRow) + 1)
        for (number, country) in rows {
            let dense = Int32(customerDense.count)
            customerDense[number] = dense
            customerIndex[Int(number)] = dense
            if victimDense[country] == nil {
                victimDense[country] = Int32(victims.count)
                victims.append(country)
            }
            victimOf.append(victimDense[country]!)
        }

        var actorDense: [Int64: Int32] = [:]
        var countryDense: [String: Int32] = [:]
        for row in try db.rows("SELECT id, name, country FROM actor ORDER BY id") {
            actorDense[try row.int64(0)] = Int32(actorIDs.count)
            actorIDs.append(try row.int64(0))
            actorNames.append(try row.string(1))
            if let country = try row.optionalString(2) {
                if countryDense[country] == nil {
                    countryDense[country] = Int32(actorCountries.count)
                    actorCountries.append(country)
                }
                actorCountry.append(countryDense[country]!)
            } else {
                actorCountry.append(-1)
            }
        }

        var campaignDense: [Int64: Int32] = [:]
        for row in try db.rows("SELECT id, key, name, origin, actor_id, confidence FROM campaign ORDER BY id") {
            campaignDense[try row.int64(0)] = Int32(campaignIDs.count)
            campaignIDs.append(try row.int64(0))
            campaignKeys.append(try row.string(1))
            campaignNames.append(try row.string(2))
            campaignOrigins.append(try row.string(3))
            campaignActor.append(try row.optionalInt64(4).flatMap { actorDense[$0] } ?? -1)
            campaignConfidence.append(try row.optionalInt(5))
        }

        let maxIndicator = try db.int64("SELECT MAX(id) FROM indicator") ?? 0
        entryStart = [Int32](repeating: 0, count: Int(maxIndicator) + 2)
        var current: Int64 = -1
        try db.forEachRow("""
            SELECT e.indicator_id, e.valid_from, e.valid_until, e.campaign_id, COALESCE(e.actor_id, cp.actor_id)
            FROM intel_entry e LEFT JOIN campaign cp ON cp.id = e.campaign_id
            ORDER BY e.indicator_id
            """, []) { row in
            let indicator = try row.int64(0)
            while current < indicator {
                current += 1
                entryStart[Int(current)] = Int32(entryFrom.count)
            }
            entryFrom.append(try row.int64(1))
            entryUntil.append(try row.optionalInt64(2) ?? Int64.max)
            entryCampaign.append(try row.optionalInt64(3).flatMap { campaignDense[$0] } ?? -1)
            entryActor.append(try row.optionalInt64(4).flatMap { actorDense[$0] } ?? -1)
        }
        while current < maxIndicator + 1 {
            current += 1
            entryStart[Int(current)] = Int32(entryFrom.count)
        }
        try db.forEachRow("SELECT sighting_id, campaign_id FROM cluster_sighting", []) { row in
            if let k = campaignDense[try row.int64(1)] { clusterOf[try row.int64(0)] = k }
        }
    }

    /// What one pass accumulates.
    package struct Tally: Sendable {
        var nsSightings = 0
        var nsFirst = Int64.max, nsLast = Int64.min
        var nsCustomers: BitMatrix, nsVictims: BitMatrix, nsActors: BitMatrix, nsCampaigns: BitMatrix
        var countryActors: BitMatrix, countryCampaigns: BitMatrix, countryCustomers: BitMatrix, countryVictims: BitMatrix
        var victimCustomers: BitMatrix
        var campaignCustomers: PairSet, campaignVictims: PairSet
        var campaignIndicators: PairSet
        var campaignSightings: [Int], campaignFirst: [Int64], campaignLast: [Int64]
        /// Week index → nation-state sightings; `week`/`weekCount` cache the
        /// current week (packs are in time order inside).
        var weeks: [Int64: Int] = [:]
        var week = Int64.min
        var weekCount = 0

        /// Weeks since 1970-01-05 (a Monday), floor division.
        @inline(__always)
        mutating func countWeek(of time: Int64) {
            let day: Int64 = 86_400_000_000_000
            let shifted = time &- 4 * day  // wrapping: a time near Int64.min must not trap (it lands in a far-off week)
            let w = shifted >= 0 ? shifted / (7 * day) : (shifted &- (7 * day - 1)) / (7 * day)
            if w != week {
                flushWeek()
                week = w
            }
            weekCount += 1
        }

        mutating func flushWeek() {
            if weekCount > 0 { weeks[week, default: 0] += weekCount }
            weekCount = 0
        }

        init(customers: Int, victims: Int, actors: Int, countries: Int, campaigns: Int, indicators: Int) {
            campaignIndicators = PairSet(rows: campaigns, columns: indicators)
            nsCustomers = BitMatrix(rows: 1, columns: customers)
            nsVictims = BitMatrix(rows: 1, columns: victims)
            nsActors = BitMatrix(rows: 1, columns: actors)
            nsCampaigns = BitMatrix(rows: 1, columns: campaigns)
            countryActors = BitMatrix(rows: countries, columns: actors)
            countryCampaigns = BitMatrix(rows: countries, columns: campaigns)
            countryCustomers = BitMatrix(rows: countries, columns: customers)
            countryVictims = BitMatrix(rows: countries, columns: victims)
            victimCustomers = BitMatrix(rows: victims, columns: customers)
            campaignCustomers = PairSet(rows: campaigns, columns: customers)
            campaignVictims = PairSet(rows: campaigns, columns: victims)
            campaignSightings = [Int](repeating: 0, count: campaigns)
            campaignFirst = [Int64](repeating: .max, count: campaigns)
            campaignLast = [Int64](repeating: .min, count: campaigns)
        }
    }

    /// Two tallies as one.
    static func merge(_ a: Tally, _ b: Tally) -> Tally {
        var t = a
        t.nsSightings += b.nsSightings
        t.nsFirst = min(a.nsFirst, b.nsFirst)
        t.nsLast = max(a.nsLast, b.nsLast)
        t.nsCustomers.formUnion(b.nsCustomers)
        t.nsVictims.formUnion(b.nsVictims)
        t.nsActors.formUnion(b.nsActors)
        t.nsCampaigns.formUnion(b.nsCampaigns)
        t.countryActors.formUnion(b.countryActors)
        t.countryCampaigns.formUnion(b.countryCampaigns)
        t.countryCustomers.formUnion(b.countryCustomers)
        t.countryVictims.formUnion(b.countryVictims)
        t.victimCustomers.formUnion(b.victimCustomers)
        t.campaignCustomers.formUnion(b.campaignCustomers)
        t.campaignVictims.formUnion(b.campaignVictims)
        t.campaignIndicators.formUnion(b.campaignIndicators)
        for k in t.campaignSightings.indices {
            t.campaignSightings[k] += b.campaignSightings[k]
            t.campaignFirst[k] = min(t.campaignFirst[k], b.campaignFirst[k])
            t.campaignLast[k] = max(t.campaignLast[k], b.campaignLast[k])
        }
        t.weeks.merge(b.weeks, uniquingKeysWith: +)
        return t
    }

    /// One pass over the packs `id % workers == worker` (up to `maxPack`),
    /// counting their sightings in `[since, until)` with id ≤ `maxSighting`.
    func tally(
        _ db: Database, since: Int64, until: Int64, maxPack: Int64, maxSighting: Int64, worker: Int, workers: Int
    ) throws -> Tally {
        var t = emptyTally()
        var pairs: [(Int32, Int32)] = []
        pairs.reserveCapacity(8)
        let statement = try db.makeStatement(sql: """
            SELECT data FROM sighting_pack
            WHERE max_time >= ? AND min_time < ? AND id <= ? AND id % ? = ?
            """)
        try statement.setArguments([since, until, maxPack, workers, worker])
        // Raw stepping: the blob is read in place, without a copy. The
        // statement is ours alone (not cached), bound above, and reset before
        // it is released; the blob pointer is valid until the next step.
        let raw = statement.sqliteStatement
        defer { sqlite3_reset(raw) }
        while true {
            let code = sqlite3_step(raw)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            // Blob pointer first, then its length (the order SQLite documents).
            guard let base = sqlite3_column_blob(raw, 0) else { continue }
            let count = Int(sqlite3_column_bytes(raw, 0))
            let whole = SightingPack.forEach(UnsafeRawBufferPointer(start: base, count: count)) { time, sid, indicator, customerN in
                guard time >= since, time < until, sid <= maxSighting else { return }
                add(sid: sid, time: time, indicator: Int(indicator), customerN: Int(customerN), to: &t, pairs: &pairs)
            }
            if !whole { throw StorageError(.database, "a sighting pack is corrupt (\(count) bytes); the report cannot be trusted") }
        }
        t.flushWeek()
        return t
    }

    /// An empty tally of this intel's dimensions.
    func emptyTally() -> Tally {
        Tally(
            customers: victimOf.count, victims: victims.count, actors: actorIDs.count, countries: actorCountries.count,
            campaigns: campaignIDs.count, indicators: entryStart.count)
    }

    /// Counts one sighting into `t` (for stores that stream sighting rows
    /// instead of reading packs); `pairs` is scratch space kept by the caller.
    func count(sid: Int64, time: Int64, indicatorID: Int64, customerN: Int64, into t: inout Tally, pairs: inout [(Int32, Int32)]) {
        guard let indicator = Int(exactly: indicatorID), let customer = Int(exactly: customerN) else { return }
        add(sid: sid, time: time, indicator: indicator, customerN: customer, to: &t, pairs: &pairs)
    }

    /// The distinct (campaign, actor) pairs (dense indices, -1 for none) of
    /// the statements valid at `time`: `attributedCTE`'s `e` rows of one
    /// sighting. Empty when no statement is valid then.
    @inline(__always)
    private func attributionPairs(sid: Int64, time: Int64, indicator: Int, into pairs: inout [(Int32, Int32)]) {
        pairs.removeAll(keepingCapacity: true)
        guard indicator >= 0, indicator + 1 < entryStart.count else { return }
        var cluster: Int32? = nil
        for e in Int(entryStart[indicator])..<Int(entryStart[indicator + 1]) where entryFrom[e] <= time && time < entryUntil[e] {
            var k = entryCampaign[e]
            if k < 0 {
                if cluster == nil { cluster = clusterOf[sid] ?? -1 }
                k = cluster!
            }
            let pair = (k, entryActor[e])
            if !pairs.contains(where: { $0 == pair }) { pairs.append(pair) }
        }
    }

    /// Counts one sighting (SPEC §4 attribution at its time).
    @inline(__always)
    private func add(sid: Int64, time: Int64, indicator: Int, customerN: Int, to t: inout Tally, pairs: inout [(Int32, Int32)]) {
        attributionPairs(sid: sid, time: time, indicator: indicator, into: &pairs)
        guard !pairs.isEmpty, customerN >= 0, customerN < customerIndex.count else { return }
        let c = Int(customerIndex[customerN])
        guard c >= 0 else { return }
        let v = Int(victimOf[c])
        var nationState = false
        for (i, (k, a)) in pairs.enumerated() {
            if k >= 0 {
                let kk = Int(k)
                t.campaignCustomers.insert(kk, c)
                t.campaignVictims.insert(kk, v)
                t.campaignIndicators.insert(kk, indicator)
                if !pairs[..<i].contains(where: { $0.0 == k }) {
                    t.campaignSightings[kk] += 1
                    t.campaignFirst[kk] = min(t.campaignFirst[kk], time)
                    t.campaignLast[kk] = max(t.campaignLast[kk], time)
                }
            }
            guard a >= 0, actorCountry[Int(a)] >= 0 else { continue }
            let g = Int(actorCountry[Int(a)])
            nationState = true
            t.nsCustomers.insert(0, c)
            t.nsVictims.insert(0, v)
            t.nsActors.insert(0, Int(a))
            t.countryActors.insert(g, Int(a))
            t.countryCustomers.insert(g, c)
            t.countryVictims.insert(g, v)
            t.victimCustomers.insert(v, c)
            if k >= 0 {
                t.nsCampaigns.insert(0, Int(k))
                t.countryCampaigns.insert(g, Int(k))
            }
        }
        if nationState {
            t.nsSightings += 1
            t.nsFirst = min(t.nsFirst, time)
            t.nsLast = max(t.nsLast, time)
            t.countWeek(of: time)
        }
    }

    /// One sighting's attributions as `attributedCTE`'s `e` rows give them
    /// (distinct campaign/actor pairs valid at its time, without the empty
    /// pair), ordered as `sightings` orders them: by actor name (NOCASE,
    /// none first), then campaign id.
    func attributions(sid: Int64, time: Int64, indicator: Int) -> [SightingRow.Attribution] {
        var pairs: [(Int32, Int32)] = []
        attributionPairs(sid: sid, time: time, indicator: indicator, into: &pairs)
        return pairs.filter { $0.0 >= 0 || $0.1 >= 0 }.map { k, a in
            SightingRow.Attribution(
                actor: a >= 0 ? actorNames[Int(a)] : nil,
                actorCountry: a >= 0 && actorCountry[Int(a)] >= 0 ? CountryCode(actorCountries[Int(actorCountry[Int(a)])]) : nil,
                campaignID: k >= 0 ? campaignKeys[Int(k)] : nil, campaignName: k >= 0 ? campaignNames[Int(k)] : nil)
        }.sorted { x, y in
            let ax = x.actor.map { ($0.asciiLowercased, $0) }, ay = y.actor.map { ($0.asciiLowercased, $0) }
            if ax?.0 != ay?.0 || ax?.1 != ay?.1 {
                guard let ax else { return true }
                guard let ay else { return false }
                return ax < ay
            }
            guard let kx = x.campaignID else { return y.campaignID != nil }
            guard let ky = y.campaignID else { return false }
            return kx < ky
        }
    }

    /// Campaign rows (SPEC §6) from a tally, ordered as the SQL version
    /// orders them: most customers first, then first seen, then id.
    func campaignRows(_ t: Tally, actorCountryFilter: String? = nil, key: String? = nil) -> [NationStateReport.CampaignRow] {
        let indicatorCounts = t.campaignIndicators.countsPerRow(campaignIDs.count)
        let customerCounts = t.campaignCustomers.countsPerRow(campaignIDs.count)
        let victimsOf = t.campaignVictims.membersPerRow(campaignIDs.count)
        var rows: [NationStateReport.CampaignRow] = []
        for k in campaignIDs.indices where t.campaignSightings[k] > 0 {
            if let key, campaignKeys[k] != key { continue }
            let a = campaignActor[k]
            let country = a >= 0 && actorCountry[Int(a)] >= 0 ? actorCountries[Int(actorCountry[Int(a)])] : nil
            if let actorCountryFilter, country != actorCountryFilter { continue }
            var row = NationStateReport.CampaignRow(
                id: campaignKeys[k], name: campaignNames[k], origin: CampaignOrigin(rawValue: campaignOrigins[k]) ?? .intel,
                actor: a >= 0 ? actorNames[Int(a)] : nil, actorCountry: country.flatMap(CountryCode.init),
                customers: customerCounts[k],
                countries: victimsOf[k].compactMap { CountryCode(victims[$0]) }.sorted { $0.code < $1.code },
                firstSeen: Timestamp(nanoseconds: t.campaignFirst[k]), lastSeen: Timestamp(nanoseconds: t.campaignLast[k]),
                indicators: indicatorCounts[k], sightings: t.campaignSightings[k])
            row.confidence = campaignConfidence[k]
            rows.append(row)
        }
        return rows.sorted {
            ($0.customers, $1.firstSeen.nanoseconds, $1.id) > ($1.customers, $0.firstSeen.nanoseconds, $0.id)
        }
    }

    /// The report's counted parts (coverage is the caller's).
    func report(_ t: Tally, window: TimeWindow, coverage: NationStateReport.Coverage) -> NationStateReport {
        let totals = NationStateReport.Totals(
            customers: t.nsCustomers.count(row: 0), countries: t.nsVictims.count(row: 0), actors: t.nsActors.count(row: 0),
            campaigns: t.nsCampaigns.count(row: 0), sightings: t.nsSightings)
        // Actor names sort as SQLite sorts a NOCASE column.
        func nocase(_ a: String, _ b: String) -> Bool {
            let (x, y) = (a.asciiLowercased, b.asciiLowercased)
            return x != y ? x < y : a < b
        }
        var byCountry: [NationStateReport.ActorCountryRow] = []
        for g in actorCountries.indices where t.countryCustomers.count(row: g) > 0 {
            guard let code = CountryCode(actorCountries[g]) else { continue }
            byCountry.append(NationStateReport.ActorCountryRow(
                country: code, actors: t.countryActors.members(row: g).map { actorNames[$0] }.sorted(by: nocase),
                campaigns: t.countryCampaigns.count(row: g), customers: t.countryCustomers.count(row: g),
                countries: t.countryVictims.count(row: g)))
        }
        byCountry.sort { ($0.customers, $1.country.code) > ($1.customers, $0.country.code) }
        var byVictim: [NationStateReport.VictimCountryRow] = []
        for v in victims.indices where t.victimCustomers.count(row: v) > 0 {
            if let code = CountryCode(victims[v]) { byVictim.append(.init(country: code, customers: t.victimCustomers.count(row: v))) }
        }
        byVictim.sort { ($0.customers, $1.country.code) > ($1.customers, $0.country.code) }
        let day: Int64 = 86_400_000_000_000
        var report = NationStateReport(
            window: window, firstSighting: t.nsSightings > 0 ? Timestamp(nanoseconds: t.nsFirst) : nil,
            lastSighting: t.nsSightings > 0 ? Timestamp(nanoseconds: t.nsLast) : nil, totals: totals, byActorCountry: byCountry,
            campaigns: campaignRows(t), coverage: coverage)
        report.byVictimCountry = byVictim
        report.sightingsPerWeek = t.weeks.sorted { $0.key < $1.key }
            .map { .init(weekStart: Timestamp(nanoseconds: $0.key * 7 * day + 4 * day), sightings: $0.value) }
        return report
    }
}

/// A rows × columns bit set: which (row, column) pairs occurred; counts and
/// members per row. 1 bit per pair (a 5,000-campaign × 5,000-customer
/// matrix is 3 MiB).
struct BitMatrix: Sendable {
    private var words: [UInt64]
    private let wordsPerRow: Int

    init(rows: Int, columns: Int) {
        wordsPerRow = (columns + 63) / 64
        words = [UInt64](repeating: 0, count: max(1, rows * wordsPerRow))
    }

    @inline(__always)
    mutating func insert(_ row: Int, _ column: Int) {
        words[row * wordsPerRow + column >> 6] |= 1 << UInt64(column & 63)
    }

    func count(row: Int) -> Int {
        var n = 0
        for w in words[row * wordsPerRow ..< (row + 1) * wordsPerRow] { n += w.nonzeroBitCount }
        return n
    }

    mutating func formUnion(_ other: BitMatrix) {
        for i in words.indices { words[i] |= other.words[i] }
    }

    func members(row: Int) -> [Int] {
        var out: [Int] = []
        for i in 0..<wordsPerRow {
            var w = words[row * wordsPerRow + i]
            while w != 0 {
                out.append(i * 64 + w.trailingZeroBitCount)
                w &= w - 1
            }
        }
        return out
    }
}

/// Distinct (row, column) pairs: a bit matrix while it stays under 32 MiB,
/// else a hash set (many campaigns × many indicators). Both are stored
/// properties, so inserts mutate in place without copying either.
struct PairSet: Sendable {
    private let usesBits: Bool
    private var matrix: BitMatrix
    private var hashed: Set<Int64> = []

    init(rows: Int, columns: Int) {
        usesBits = rows * columns <= 1 << 28
        matrix = usesBits ? BitMatrix(rows: rows, columns: columns) : BitMatrix(rows: 0, columns: 0)
    }

    @inline(__always)
    mutating func insert(_ row: Int, _ column: Int) {
        if usesBits {
            matrix.insert(row, column)
        } else {
            hashed.insert(Int64(row) << 32 | Int64(column))
        }
    }

    /// Adds `other`'s pairs (a tally of the same dimensions).
    mutating func formUnion(_ other: PairSet) {
        if usesBits { matrix.formUnion(other.matrix) } else { hashed.formUnion(other.hashed) }
    }

    func membersPerRow(_ rows: Int) -> [[Int]] {
        guard !usesBits else { return (0..<rows).map { matrix.members(row: $0) } }
        var members = [[Int]](repeating: [], count: rows)
        for pair in hashed { members[Int(pair >> 32)].append(Int(pair & 0xFFFF_FFFF)) }
        return members.map { $0.sorted() }
    }

    func countsPerRow(_ rows: Int) -> [Int] {
        guard !usesBits else { return (0..<rows).map { matrix.count(row: $0) } }
        var counts = [Int](repeating: 0, count: rows)
        for pair in hashed { counts[Int(pair >> 32)] += 1 }
        return counts
    }
}

extension String {
    /// ASCII letters lower-cased (SQLite's NOCASE folds ASCII only).
    var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}

extension SQLiteStore {
    /// The window's tally, counted from the sighting packs by one worker
    /// per core and merged. The workers read in separate transactions; they
    /// count the same data because sightings are only ever added and each
    /// worker stops at the highest pack and sighting ids the first read saw
    /// (intel and clusters come from that first read too).
    package func reportScan(window: TimeWindow) throws(StorageError) -> (ReportScan, ReportScan.Tally, NationStateReport.Coverage) {
        let since = window.since?.nanoseconds ?? .min, until = window.until?.nanoseconds ?? .max
        do {
            let (scan, bounds, coverage) = try pool.read { db in
                (try ReportScan(GRDBSession(db: db)),
                 try Row.fetchOne(db, sql: "SELECT (SELECT MAX(id) FROM sighting_pack), (SELECT MAX(id) FROM sighting)"),
                 try SQLiteStore.coverage(GRDBSession(db: db), window: window))
            }
            let maxPack: Int64 = bounds?[0] ?? 0, maxSighting: Int64 = bounds?[1] ?? 0
            let workers = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
            let results = WorkerResults(count: workers)
            DispatchQueue.concurrentPerform(iterations: workers) { i in
                do {
                    let tally = try pool.read { db in
                        try scan.tally(db, since: since, until: until, maxPack: maxPack, maxSighting: maxSighting, worker: i, workers: workers)
                    }
                    results.set(i, .success(tally))
                } catch {
                    results.set(i, .failure(error))
                }
            }
            var merged: ReportScan.Tally? = nil
            for result in results.all() {
                let tally = try result.get()
                merged = merged.map { ReportScan.merge($0, tally) } ?? tally
            }
            return (scan, merged!, coverage)
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.database, "database \(path): \(StorageError.describe(error))")
        }
    }
}

/// Results of the concurrent workers, one slot each.
private final class WorkerResults: @unchecked Sendable {
    // Guarded by `lock`; every slot is written once, by its own worker.
    private var slots: [Result<ReportScan.Tally, any Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ result: Result<ReportScan.Tally, any Error>) {
        lock.lock()
        slots[i] = result
        lock.unlock()
    }

    func all() -> [Result<ReportScan.Tally, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
