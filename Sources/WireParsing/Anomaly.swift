/// A named oddity in hostile input ("weird" in Zeek's terms): a truncated
/// header, a bad length, a compression loop. Decoders never throw or trap on
/// traffic; they count an anomaly and carry on with what they could read.
///
/// Names are `layer.what` in snake case, e.g. `dns.truncated_header`; they are
/// stable because operators alert on them.
package struct Anomaly: Hashable, Sendable, CustomStringConvertible {
    package let name: String

    package init(_ name: String) {
        self.name = name
    }

    package var description: String { name }
}

/// Counts anomalies by name. Cheap to merge; printed as a summary at the end
/// of a scan.
/// Counts by name, most first (`name=N, …`), as messages print anomalies and skips.
package func formatCounts(_ counts: [String: Int]) -> String {
    counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        .map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
}

package struct AnomalyCounts: Sendable, Equatable {
    package private(set) var counts: [String: Int] = [:]

    package init() {}

    package mutating func record(_ anomaly: Anomaly, count: Int = 1) {
        counts[anomaly.name, default: 0] += count
    }

    package mutating func merge(_ other: AnomalyCounts) {
        for (name, count) in other.counts { counts[name, default: 0] += count }
    }

    package var total: Int { counts.values.reduce(0, +) }

    package var isEmpty: Bool { counts.isEmpty }

    package subscript(name: String) -> Int { counts[name] ?? 0 }

    /// Sorted `(name, count)` pairs, most frequent first, then by name.
    package var sorted: [(name: String, count: Int)] {
        counts.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }
}
