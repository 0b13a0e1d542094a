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
/// The streaming payload matcher joins it in its own issue.
package struct IndicatorSet: Sendable {
    package let generation: Int

    private struct Slot: Sendable {
        var indicatorID: Int64
        var kind: IndicatorKind
        var value: String
        var windows: [(from: Timestamp, until: Timestamp?)]

        func isValid(at time: Timestamp) -> Bool {
            windows.contains { time >= $0.from && ($0.until.map { time < $0 } ?? true) }
        }
    }

    private var slots: [Slot] = []
    /// Per kind: normalised value → slot index.
    private var byValue: [IndicatorKind: [String: Int]] = [:]

    package init(entries: [IndicatorEntry], generation: Int = 0) {
        self.generation = generation
        for entry in entries {
            if let index = byValue[entry.kind]?[entry.value] {
                slots[index].windows.append((entry.validFrom, entry.validUntil))
            } else {
                byValue[entry.kind, default: [:]][entry.value] = slots.count
                slots.append(Slot(indicatorID: entry.indicatorID, kind: entry.kind, value: entry.value,
                                  windows: [(entry.validFrom, entry.validUntil)]))
            }
        }
    }

    /// Number of distinct indicators.
    package var count: Int { slots.count }

    package func count(of kind: IndicatorKind) -> Int { byValue[kind]?.count ?? 0 }

    /// Indicators that the observable matches at its time.
    package func matches(_ observable: Observable) -> [IndicatorMatch] {
        switch observable.evidence.observableKind {
        case .domain:
            return matchDomain(observable.value, at: observable.time)
        case .email:
            return matchExact(.email, observable.value, at: observable.time)
        case .url:
            return matchExact(.url, observable.value, at: observable.time)
        case nil, .ipv4, .ipv6, .cidr, .md5, .sha1, .sha256:
            if let address = IPAddress(observable.value) {
                let kind: IndicatorKind = address.bitWidth == 32 ? .ipv4 : .ipv6
                return matchExact(kind, address.description, at: observable.time)
            }
            return []
        }
    }

    /// Exact lookup after normalising `raw` as `kind`.
    package func matchExact(_ kind: IndicatorKind, _ raw: String, at time: Timestamp) -> [IndicatorMatch] {
        guard let table = byValue[kind], case .success(let value) = kind.normalize(raw),
            let index = table[value]
        else { return [] }
        return hit(index, at: time).map { [$0] } ?? []
    }

    /// Domain lookup by label suffix: `a.cdn-updates.net` matches the
    /// indicators `a.cdn-updates.net` and `cdn-updates.net`, never
    /// `mycdn-updates.net` (SPEC §3). Case and one trailing dot are ignored.
    package func matchDomain(_ observed: String, at time: Timestamp) -> [IndicatorMatch] {
        guard let table = byValue[.domain], !table.isEmpty, let name = DomainName.normalize(observed) else {
            return []
        }
        var result: [IndicatorMatch] = []
        var suffix = Substring(name)
        while true {
            if let index = table[String(suffix)], let match = hit(index, at: time) {
                result.append(match)
            }
            guard let dot = suffix.firstIndex(of: ".") else { break }
            suffix = suffix[suffix.index(after: dot)...]
        }
        return result
    }

    private func hit(_ index: Int, at time: Timestamp) -> IndicatorMatch? {
        let slot = slots[index]
        guard slot.isValid(at: time) else { return nil }
        return IndicatorMatch(indicatorID: slot.indicatorID, kind: slot.kind, value: slot.value)
    }
}
