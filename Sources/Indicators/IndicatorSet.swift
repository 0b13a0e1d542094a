import PatternMatcher
import TelemetryModel

/// One intel statement about an indicator: its id in the store, its
/// normalised value and one validity window `[validFrom, validUntil)`.
/// An indicator with several sources has several entries.
package struct IndicatorEntry: Sendable, Equatable {
    package var indicatorID: Int64
    package var kind: IndicatorKind
    package var value: String
    package var validFrom: Timestamp
    package var validUntil: Timestamp?

    package init(indicatorID: Int64, kind: IndicatorKind, value: String, validFrom: Timestamp, validUntil: Timestamp?) {
        self.indicatorID = indicatorID
        self.kind = kind
        self.value = value
        self.validFrom = validFrom
        self.validUntil = validUntil
    }
}

/// A match of an observable against the set.
package struct IndicatorMatch: Sendable, Equatable, Hashable {
    package var indicatorID: Int64
    package var kind: IndicatorKind
    /// The indicator's normalised value (for a domain, the suffix that matched).
    package var value: String
}

/// An immutable snapshot of the indicators in the store, built once and
/// shared by every scan that started with it (a newer generation replaces it
/// for later scans; a scan in flight keeps its snapshot).
///
/// Structured lookups (SPEC §3): exact for addresses, e-mails, URLs and
/// hashes; domains by label suffix; every lookup honours validity windows.
/// CIDR indicators are looked up by containment (per prefix length present,
/// one masked-network table). Payload scanning: ``PayloadMatcher``.
///
/// Layout: per kind a ``ValueTable`` (values in one arena, open addressing);
/// per indicator its store id and first validity window in flat arrays;
/// further windows (an indicator stated by several sources) in an overflow
/// list. About 45 bytes per indicator plus its value (``memoryUsage``).
package struct IndicatorSet: Sendable {
    package let generation: Int

    struct KindTable: Sendable {
        var values = ValueTable()
        var ids: [Int64] = []
        var from: [Int64] = []
        /// `Int64.max` for an open end.
        var until: [Int64] = []
        /// Value index → further windows, for the few indicators with several.
        var extra: [Int32: [(from: Int64, until: Int64)]] = [:]

        func isValid(_ index: Int, at t: Int64) -> Bool {
            if t >= from[index] && t < until[index] { return true }
            guard let more = extra[Int32(index)] else { return false }
            return more.contains { t >= $0.from && t < $0.until }
        }

        var memoryUsage: Int {
            values.memoryUsage + ids.capacity * 8 + from.capacity * 8 + until.capacity * 8 + extra.count * 64
        }
    }

    private(set) var tables: [KindTable] = Array(repeating: KindTable(), count: IndicatorKind.allCases.count)
    /// CIDR indicators by family and prefix length: masked network -> value
    /// index in the cidr table. Longest prefixes first.
    private var cidrV4: [(prefix: Int, networks: [UInt32: Int])] = []
    private var cidrV6: [(prefix: Int, networks: [IPAddress: Int])] = []

    package init(entries: [IndicatorEntry], generation: Int = 0) {
        var builder = Builder(generation: generation)
        for entry in entries { builder.add(entry) }
        self = builder.freeze()
    }

    private init(tables: [KindTable], generation: Int) {
        self.tables = tables
        self.generation = generation
        let k = IndicatorSet.slot(.cidr)
        var v4: [Int: [UInt32: Int]] = [:]
        var v6: [Int: [IPAddress: Int]] = [:]
        for index in 0..<tables[k].ids.count {
            // Stored values are normalised ("network/prefix", network masked).
            let parts = tables[k].values.value(at: index).split(separator: "/")
            guard parts.count == 2, let address = IPAddress(parts[0]), let prefix = Int(parts[1]) else { continue }
            switch address {
            case .v4(let a): v4[prefix, default: [:]][a] = index
            case .v6: v6[prefix, default: [:]][address] = index
            }
        }
        cidrV4 = v4.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
        cidrV6 = v6.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
    }

    /// Builds a set entry by entry, so a million entries stream from the store
    /// without first becoming an array.
    package struct Builder {
        private var tables: [KindTable] = Array(repeating: KindTable(), count: IndicatorKind.allCases.count)
        private let generation: Int
        /// Entries that did not fit (more than 4 GiB of values of one kind).
        package private(set) var skipped = 0

        package init(generation: Int = 0) {
            self.generation = generation
        }

        package mutating func add(_ entry: IndicatorEntry) {
            add(indicatorID: entry.indicatorID, kind: entry.kind, value: entry.value, validFrom: entry.validFrom, validUntil: entry.validUntil)
        }

        package mutating func add(indicatorID: Int64, kind: IndicatorKind, value: String, validFrom: Timestamp, validUntil: Timestamp?) {
            let k = IndicatorSet.slot(kind)
            let from = validFrom.nanoseconds, until = validUntil?.nanoseconds ?? Int64.max
            guard let index = tables[k].values.insert(value.utf8) else {
                skipped += 1
                return
            }
            if index == tables[k].ids.count {
                tables[k].ids.append(indicatorID)
                tables[k].from.append(from)
                tables[k].until.append(until)
            } else {
                tables[k].extra[Int32(index), default: []].append((from, until))
            }
        }

        package func freeze() -> IndicatorSet {
            var frozen = tables
            for k in frozen.indices {
                frozen[k].values.shrink()
                frozen[k].ids = frozen[k].ids.compacted()
                frozen[k].from = frozen[k].from.compacted()
                frozen[k].until = frozen[k].until.compacted()
            }
            return IndicatorSet(tables: frozen, generation: generation)
        }
    }

    static func slot(_ kind: IndicatorKind) -> Int { IndicatorKind.allCases.firstIndex(of: kind)! }

    /// Number of distinct indicators.
    package var count: Int { tables.reduce(0) { $0 + $1.ids.count } }

    package func count(of kind: IndicatorKind) -> Int { tables[IndicatorSet.slot(kind)].ids.count }

    /// Bytes held by the set's storage (arrays' capacities), as measured by
    /// the intel benchmark against the file the intel came from.
    package var memoryUsage: Int { tables.reduce(0) { $0 + $1.memoryUsage } }

    /// Indicators that the observable matches at its time.
    package func matches(_ observable: Observable) -> [IndicatorMatch] {
        // A payload match carries the indicator's normalised value: exact per kind.
        if observable.evidence == .payloadMatch { return matchPayloadValue(observable.value, at: observable.time) }
        // A DNS answer carries names (owners, CNAME targets) and addresses (A, AAAA).
        if observable.evidence == .dnsAnswer, let address = IPAddress(observable.value) {
            return matchAddress(address, at: observable.time)
        }
        // An HTTP Host may carry a port, and may be an address literal (`[::1]:8000`).
        if observable.evidence == .httpHost {
            let host = IndicatorSet.hostWithoutPort(observable.value)
            if let address = IPAddress(host) { return matchAddress(address, at: observable.time) }
            return matchDomain(host, at: observable.time)
        }
        switch observable.evidence.observableKind {
        case .domain:
            return matchDomain(observable.value, at: observable.time)
        case .email:
            return matchEmail(observable.value, at: observable.time)
        case .url:
            return matchExact(.url, observable.value, at: observable.time)
        case nil, .ipv4, .ipv6, .cidr, .md5, .sha1, .sha256:
            // Fast path: a dotted quad that parses is already canonical (the
            // parser rejects leading zeros), so its bytes are the lookup key.
            var value = observable.value  // `withUTF8` needs a mutable string
            if cidrV4.isEmpty, value.utf8.count <= 15, IPAddress.isCanonicalIPv4(value.utf8) {
                let k = IndicatorSet.slot(.ipv4)
                guard !tables[k].ids.isEmpty else { return [] }
                return value.withUTF8 { bytes in
                    tables[k].values.find(bytes).flatMap { hit(k, $0, at: observable.time) }.map { [$0] } ?? []
                }
            }
            if let address = IPAddress(observable.value) { return matchAddress(address, at: observable.time) }
            return []
        }
    }

    /// The indicators whose normalised value is exactly `value`, of every
    /// payload kind (what ``PayloadMatcher`` reports).
    package func matchPayloadValue(_ value: String, at time: Timestamp) -> [IndicatorMatch] {
        var result: [IndicatorMatch] = []
        for kind in IndicatorKind.allCases where kind != .cidr {
            let k = IndicatorSet.slot(kind)
            if !tables[k].ids.isEmpty, let index = tables[k].values.find(value.utf8), let match = hit(k, index, at: time) {
                result.append(match)
            }
        }
        return result
    }

    /// An address: its exact indicator and every CIDR indicator containing it.
    package func matchAddress(_ address: IPAddress, at time: Timestamp) -> [IndicatorMatch] {
        var result = matchExact(address.bitWidth == 32 ? .ipv4 : .ipv6, address.description, at: time)
        let k = IndicatorSet.slot(.cidr)
        switch address {
        case .v4(let a):
            for (prefix, networks) in cidrV4 {
                guard case .v4(let network) = IPAddress.v4(a).masked(to: prefix), let index = networks[network],
                      let match = hit(k, index, at: time) else { continue }
                result.append(match)
            }
        case .v6:
            for (prefix, networks) in cidrV6 {
                guard let index = networks[address.masked(to: prefix)], let match = hit(k, index, at: time) else { continue }
                result.append(match)
            }
        }
        return result
    }

    /// `host:port` → `host`; `[v6]:port` or `[v6]` → `v6`.
    static func hostWithoutPort(_ value: String) -> String {
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        if let colon = value.lastIndex(of: ":"), value.firstIndex(of: ":") == colon {
            return String(value[..<colon])
        }
        return value
    }

    /// Exact lookup after normalising `raw` as `kind`.
    package func matchExact(_ kind: IndicatorKind, _ raw: String, at time: Timestamp) -> [IndicatorMatch] {
        let k = IndicatorSet.slot(kind)
        guard !tables[k].ids.isEmpty, case .success(let value) = kind.normalize(raw),
            let index = tables[k].values.find(value.utf8)
        else { return [] }
        return hit(k, index, at: time).map { [$0] } ?? []
    }

    /// A cheap, conservative pre-check on raw bytes (no `String`): `false`
    /// only when the value can match no indicator. Mail-log scans call it for
    /// every address so that only candidates become observables.
    package func mayMatch(_ evidence: Evidence, _ bytes: ArraySlice<UInt8>) -> Bool {
        switch evidence {
        case .maillogClient, .ipFlow:
            if bytes.contains(UInt8(ascii: ":")) { return true }  // IPv6: the full path decides
            let k = IndicatorSet.slot(.ipv4)
            guard !tables[k].ids.isEmpty else { return !tables[IndicatorSet.slot(.cidr)].ids.isEmpty }
            // A dotted quad with leading zeros or out-of-range parts parses to
            // nothing, so only the canonical bytes can hit.
            return tables[k].values.find(bytes) != nil || !tables[IndicatorSet.slot(.cidr)].ids.isEmpty
        case .maillogSender, .maillogRecipient, .smtpMailFrom, .smtpRcptTo:
            guard !tables[IndicatorSet.slot(.email)].ids.isEmpty else { return false }
            // Anything the fast path cannot decide goes to the full normaliser.
            return findPlainEmail(bytes).map { $0 != nil } ?? true
        default:
            return true
        }
    }

    /// E-mail lookup. Fast path: a plain ASCII address is looked up as its
    /// lower-case bytes, which is its normal form unless it needs trimming,
    /// brackets or a trailing dot removed (then the full normaliser runs).
    package func matchEmail(_ raw: String, at time: Timestamp) -> [IndicatorMatch] {
        let k = IndicatorSet.slot(.email)
        guard !tables[k].ids.isEmpty else { return [] }
        guard let found = findPlainEmail(raw.utf8) else { return matchExact(.email, raw, at: time) }
        return found.flatMap { hit(k, $0, at: time) }.map { [$0] } ?? []
    }

    /// Looks a plain ASCII address up by its lower-case bytes: `.some(index)`
    /// or `.some(nil)` when decided, `nil` when the value needs the full
    /// normaliser (trimming, brackets, a trailing dot, non-ASCII).
    private func findPlainEmail(_ bytes: some Collection<UInt8>) -> Int?? {
        guard bytes.count <= 254, !bytes.isEmpty else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count) { buffer -> Int?? in
            var n = 0
            for c in bytes {
                guard c > 0x20, c < 0x7F, c != UInt8(ascii: "<"), c != UInt8(ascii: ">") else { return nil }
                buffer[n] = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
                n += 1
            }
            guard buffer[n - 1] != UInt8(ascii: ".") else { return nil }
            return .some(tables[IndicatorSet.slot(.email)].values.find(UnsafeBufferPointer(rebasing: buffer[0..<n])))
        }
    }

    /// Domain lookup by label suffix: `a.cdn-updates.net` matches the
    /// indicators `a.cdn-updates.net` and `cdn-updates.net`, never
    /// `mycdn-updates.net` (SPEC §3). Case and one trailing dot are ignored.
    package func matchDomain(_ observed: String, at time: Timestamp) -> [IndicatorMatch] {
        let k = IndicatorSet.slot(.domain)
        guard !tables[k].ids.isEmpty, let name = DomainName.normalize(observed) else { return [] }
        var result: [IndicatorMatch] = []
        let bytes = Array(name.utf8)
        var start = 0
        while start < bytes.count {
            if let index = tables[k].values.find(bytes[start...]), let match = hit(k, index, at: time) {
                result.append(match)
            }
            guard let dot = bytes[start...].firstIndex(of: UInt8(ascii: ".")) else { break }
            start = dot + 1
        }
        return result
    }

    func hit(_ k: Int, _ index: Int, at time: Timestamp) -> IndicatorMatch? {
        guard tables[k].isValid(index, at: time.nanoseconds) else { return nil }
        return IndicatorMatch(indicatorID: tables[k].ids[index], kind: IndicatorKind.allCases[k], value: tables[k].values.value(at: index))
    }
}
