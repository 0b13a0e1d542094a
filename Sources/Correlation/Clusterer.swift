import TelemetryModel

/// Groups sightings of indicators that have no intel campaign into clustered
/// campaigns (SPEC §4). Pure: the store loads the inputs and writes the result.
///
/// Sightings are the nodes. Two sightings are linked when
/// - `dnsResolution`: one DNS message named both (same customer, sensor, flow
///   key and time, both DNS evidence): a sensor saw one resolve to the other;
/// - `sameIndicator`: they are sightings of one indicator;
/// - `sameReport`: their indicators appear in one intel report (STIX `report`
///   / `grouping`, MISP event);
/// - `sameCustomer`: they hit one customer within `customerWindow`;
///
/// and, whatever the reason, only when they lie within `splitGap` of each
/// other, so a campaign never spans a quiet period longer than the gap (the
/// split of SPEC §4). Clusters are the connected components (single
/// linkage). Each member is explained by one link on a path of links back to
/// the cluster's earliest sighting (a breadth-first tree over the links that
/// joined the cluster; where several links exist, it names the one on that
/// path, the strongest kind first).
///
/// Over-correlation limit (MISP's `correlation_limit`): an indicator seen at
/// more than `correlationLimit` customers (a popular shared address, a CDN)
/// makes no links to other indicators; its own sightings still cluster with
/// each other. It therefore never merges two actors' campaigns.
package struct Clusterer: Sendable {
    package struct Parameters: Sendable, Equatable {
        /// Nanoseconds; `sameCustomer` links need sightings this close.
        package var customerWindow: Int64
        /// Nanoseconds; no link spans more than this.
        package var splitGap: Int64
        /// Indicators seen at more customers than this link nothing else.
        package var correlationLimit: Int

        package static let hour: Int64 = 3_600_000_000_000
        package static let `default` = Parameters(customerWindow: 24 * hour, splitGap: 30 * 24 * hour, correlationLimit: 10)

        package init(customerWindow: Int64, splitGap: Int64, correlationLimit: Int) {
            self.customerWindow = customerWindow
            self.splitGap = splitGap
            self.correlationLimit = correlationLimit
        }
    }

    /// One sighting as the clusterer needs it.
    package struct Input: Sendable, Equatable {
        package var id: Int64
        package var indicator: Int64
        package var customer: String
        package var sensor: String
        /// Evidence name (SPEC §2), e.g. `dns-query`.
        package var evidence: String
        /// Flow or message key.
        package var key: String
        package var time: Int64

        package init(id: Int64, indicator: Int64, customer: String, sensor: String, evidence: String, key: String, time: Int64) {
            self.id = id
            self.indicator = indicator
            self.customer = customer
            self.sensor = sensor
            self.evidence = evidence
            self.key = key
            self.time = time
        }
    }

    package enum Reason: String, Sendable, CaseIterable {
        /// The cluster's earliest sighting: nothing joined it, it started the cluster.
        case seed
        case dnsResolution = "dns-resolution"
        case sameIndicator = "same-indicator"
        case sameReport = "same-report"
        case sameCustomer = "same-customer"
    }

    /// Why a sighting is in its cluster: the link to `via` (another member,
    /// nearer the seed) and what that link rests on.
    package struct Membership: Sendable, Equatable {
        package var sighting: Int64
        package var via: Int64?
        package var reason: Reason
        /// The shared report name, customer or flow key.
        package var detail: String

        package init(sighting: Int64, via: Int64?, reason: Reason, detail: String) {
            self.sighting = sighting
            self.via = via
            self.reason = reason
            self.detail = detail
        }
    }

    package struct Cluster: Sendable, Equatable {
        /// The earliest sighting (by time, then id): names the cluster, so its
        /// id stays the same when the campaign is rebuilt from the same data.
        package var seed: Input
        /// Every member in (time, id) order, the seed first.
        package var members: [Membership]
        package var indicators: Set<Int64>
    }

    package var parameters: Parameters

    package init(parameters: Parameters = .default) {
        self.parameters = parameters
    }

    /// - Parameter reports: indicator → names of the intel reports it is in.
    package func cluster(_ inputs: [Input], reports: [Int64: [String]] = [:]) -> [Cluster] {
        let n = inputs.count
        guard n > 0 else { return [] }
        let order = inputs.indices.sorted { (inputs[$0].time, inputs[$0].id) < (inputs[$1].time, inputs[$1].id) }
        let gap = max(0, parameters.splitGap)
        let window = min(max(0, parameters.customerWindow), gap)

        let popular = popularIndicators(inputs)

        var sets = DisjointSets(count: n)
        var forest = [[(to: Int, reason: Reason, detail: String)]](repeating: [], count: n)
        func link(_ a: Int, _ b: Int, _ reason: Reason, _ detail: String) {
            guard Clusterer.within(inputs[a].time, inputs[b].time, gap), sets.union(a, b) else { return }
            forest[a].append((b, reason, detail))
            forest[b].append((a, reason, detail))
        }
        /// Links each member of every group to the previous one in time order
        /// when they are within `limit`: enough for connectivity, and O(n).
        func chain<K: Hashable>(_ reason: Reason, limit: Int64, key: (Input) -> K?, detail: (K) -> String) {
            var last: [K: Int] = [:]
            for i in order {
                guard let k = key(inputs[i]) else { continue }
                if let p = last[k], Clusterer.within(inputs[i].time, inputs[p].time, limit) { link(p, i, reason, detail(k)) }
                last[k] = i
            }
        }

        // Strongest evidence first, so explanations name it where several apply.
        struct DNSKey: Hashable { var customer: String, sensor: String, key: String, time: Int64 }
        chain(.dnsResolution, limit: 0, key: { s in
            s.evidence.hasPrefix("dns-") && !popular.contains(s.indicator)
                ? DNSKey(customer: s.customer, sensor: s.sensor, key: s.key, time: s.time) : nil
        }, detail: { "one DNS message at \($0.customer)/\($0.sensor), flow \($0.key)" })
        chain(.sameIndicator, limit: gap, key: { $0.indicator }, detail: { _ in "the same indicator" })
        var reportsSeen: [String: [Int]] = [:]
        for i in order where !popular.contains(inputs[i].indicator) {
            for r in reports[inputs[i].indicator] ?? [] { reportsSeen[r, default: []].append(i) }
        }
        for name in reportsSeen.keys.sorted() {
            let members = reportsSeen[name]!
            for (p, i) in zip(members, members.dropFirst()) where Clusterer.within(inputs[i].time, inputs[p].time, gap) {
                link(p, i, .sameReport, "intel report \(name)")
            }
        }
        chain(.sameCustomer, limit: window, key: { popular.contains($0.indicator) ? nil : $0.customer }, detail: { "customer \($0) within the window" })

        // Components in order of their earliest sighting; breadth-first from
        // that seed over the links that joined them.
        var clusterOf = [Int](repeating: -1, count: n)
        var clusters: [Cluster] = []
        for root in order where clusterOf[root] < 0 {
            let index = clusters.count
            var cluster = Cluster(seed: inputs[root], members: [], indicators: [])
            var queue = [root]
            var explained: [Int: Membership] = [root: Membership(sighting: inputs[root].id, via: nil, reason: .seed, detail: "earliest sighting")]
            clusterOf[root] = index
            var head = 0
            while head < queue.count {
                let i = queue[head]
                head += 1
                for edge in forest[i] where clusterOf[edge.to] < 0 {
                    clusterOf[edge.to] = index
                    explained[edge.to] = Membership(sighting: inputs[edge.to].id, via: inputs[i].id, reason: edge.reason, detail: edge.detail)
                    queue.append(edge.to)
                }
            }
            let members = queue.sorted { (inputs[$0].time, inputs[$0].id) < (inputs[$1].time, inputs[$1].id) }
            cluster.members = members.map { explained[$0]! }
            cluster.indicators = Set(members.map { inputs[$0].indicator })
            clusters.append(cluster)
        }
        return clusters
    }

    /// Indicators seen at more customers than the correlation limit: they
    /// link nothing but their own sightings.
    package func popularIndicators(_ inputs: [Input]) -> Set<Int64> {
        var customersOf: [Int64: Set<String>] = [:]
        for s in inputs { customersOf[s.indicator, default: []].insert(s.customer) }
        return Set(customersOf.filter { $0.value.count > parameters.correlationLimit }.keys)
    }

    /// |a − b| ≤ limit, without overflow for times centuries apart (a
    /// difference that does not fit is beyond any limit).
    static func within(_ a: Int64, _ b: Int64, _ limit: Int64) -> Bool {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        return !overflow && difference.magnitude <= limit.magnitude
    }

    /// A stable campaign id for a cluster: `cl-` and 16 hex digits of the
    /// FNV-1a hash of its seed's identity (SPEC §3 fields).
    package static func campaignKey(seedIdentity: String) -> String {
        "cl-" + StableHash.hex(StableHash.fnv1a64(seedIdentity))
    }
}

/// Union-find with path halving and union by size.
struct DisjointSets {
    private var parent: [Int]
    private var size: [Int]

    init(count: Int) {
        parent = Array(0..<count)
        size = [Int](repeating: 1, count: count)
    }

    mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }

    /// Joins the sets of `a` and `b`; false when they were already one.
    mutating func union(_ a: Int, _ b: Int) -> Bool {
        var ra = find(a), rb = find(b)
        guard ra != rb else { return false }
        if size[ra] < size[rb] { swap(&ra, &rb) }
        parent[rb] = ra
        size[ra] += size[rb]
        return true
    }
}
