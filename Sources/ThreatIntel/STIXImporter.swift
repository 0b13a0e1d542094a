import TelemetryModel
import WireParsing

/// STIX 2.1 bundles (`{"type": "bundle", "objects": […]}`), bare arrays of
/// objects, and JSON Lines with one object per line (SEKOIA's exports).
///
/// Indicators become statements through their `indicates` relationships:
/// indicator → campaign → (`attributed-to`) intrusion set / threat actor, or
/// indicator → intrusion set / threat actor directly. An actor's country comes
/// from `originates-from` → location `country`, its own `country` property,
/// or, for an intrusion set, the threat actor it is `attributed-to`.
package struct STIXCollector {
    private struct Indicator {
        var values: [(IndicatorKind, String)]
        var validFrom: Timestamp?
        var validUntil: Timestamp?
        var confidence: Int?
    }

    private struct Actor {
        var name: String
        var aliases: [String]
        var country: CountryCode?
    }

    private var indicators: [String: Indicator] = [:]
    private var indicatorOrder: [String] = []
    private var actors: [String: Actor] = [:]
    private var actorOrder: [String] = []
    private var campaigns: [String: String] = [:]
    private var campaignOrder: [String] = []
    private var locations: [String: CountryCode] = [:]
    /// STIX `report` / `grouping` objects: name and the objects they refer to.
    private var reports: [(name: String, refs: [String])] = []
    private var relationships: [(type: String, source: String, target: String)] = []
    package private(set) var objectCount = 0
    private var skipped: [String: Int] = [:]

    package init() {}

    /// Takes one STIX object (any type; unknown types are ignored).
    package mutating func add(_ object: JSONValue) {
        objectCount += 1
        guard let type = object["type"]?.string, let id = object["id"]?.string else {
            skipped["stix_object_without_type_or_id", default: 0] += 1
            return
        }
        switch type {
        case "indicator": addIndicator(object, id: id)
        case "intrusion-set", "threat-actor":
            guard let name = object["name"]?.string?.trimmingASCIIWhitespace(), !name.isEmpty else {
                skipped["stix_actor_without_name", default: 0] += 1
                return
            }
            let aliases = (object["aliases"]?.array ?? []).compactMap(\.string).filter { $0.lowercased() != name.lowercased() }
            let country = object["country"]?.string.flatMap(CountryCode.init)
            if actors[id] == nil { actorOrder.append(id) }
            actors[id] = Actor(name: name, aliases: aliases, country: country)
        case "campaign":
            guard let name = object["name"]?.string?.trimmingASCIIWhitespace(), !name.isEmpty else { return }
            if campaigns[id] == nil { campaignOrder.append(id) }
            campaigns[id] = name
        case "report", "grouping":
            let name = object["name"]?.string?.trimmingASCIIWhitespace() ?? ""
            let refs = (object["object_refs"]?.array ?? []).compactMap(\.string)
            reports.append((name.isEmpty ? id : name, refs))
        case "location":
            if let country = object["country"]?.string.flatMap(CountryCode.init) { locations[id] = country }
        case "relationship":
            if let rel = object["relationship_type"]?.string, let s = object["source_ref"]?.string, let t = object["target_ref"]?.string {
                relationships.append((rel, s, t))
            }
        case "bundle":
            for inner in object["objects"]?.array ?? [] { add(inner) }
        default:
            break
        }
    }

    private mutating func addIndicator(_ object: JSONValue, id: String) {
        if object["revoked"]?.bool == true {
            skipped["revoked", default: 0] += 1
            return
        }
        let patternType = object["pattern_type"]?.string ?? "stix"
        guard patternType == "stix" else {
            skipped["pattern_type_\(patternType)", default: 0] += 1
            return
        }
        guard let text = object["pattern"]?.string else {
            skipped["stix_indicator_without_pattern", default: 0] += 1
            return
        }
        let pattern: STIXPattern
        do {
            pattern = try STIXPattern.parse(text)
        } catch {
            skipped["stix_pattern_syntax", default: 0] += 1
            return
        }
        let extraction = pattern.extraction
        var values: [(IndicatorKind, String)] = []
        var invalid: [String] = []
        for (kind, raw) in extraction.values {
            switch kind.normalize(raw) {
            case .success(let v): values.append((kind, v))
            case .failure(let e): invalid.append(e.reason)
            }
        }
        let unusable = extraction.unsupported + invalid
        if values.isEmpty {
            skipped[unusable.first ?? "stix_pattern_without_values", default: 0] += 1
            return
        }
        for reason in unusable { skipped["ignored_comparison:" + reason, default: 0] += 1 }
        var indicator = Indicator(values: values)
        if let t = object["valid_from"]?.string {
            guard let parsed = Timestamp(parsing: t) else {
                skipped["invalid_valid_from", default: 0] += 1
                return
            }
            indicator.validFrom = parsed
        }
        if let t = object["valid_until"]?.string {
            guard let parsed = Timestamp(parsing: t) else {
                skipped["invalid_valid_until", default: 0] += 1
                return
            }
            indicator.validUntil = parsed
        }
        if let from = indicator.validFrom, let until = indicator.validUntil, until <= from {
            skipped["empty_validity_window", default: 0] += 1
            return
        }
        indicator.confidence = object["confidence"]?.int.flatMap { (0...100).contains($0) ? $0 : nil }
        if indicators[id] == nil { indicatorOrder.append(id) }
        indicators[id] = indicator
    }

    /// Resolves relationships and produces the document.
    package func document(source: String) -> IntelDocument {
        var doc = IntelDocument(source: source, format: .stix, skipped: skipped)
        var indicates: [String: [String]] = [:]
        var attributedTo: [String: [String]] = [:]
        var originatesFrom: [String: [String]] = [:]
        for r in relationships {
            switch r.type {
            case "indicates": indicates[r.source, default: []].append(r.target)
            case "attributed-to": attributedTo[r.source, default: []].append(r.target)
            case "originates-from": originatesFrom[r.source, default: []].append(r.target)
            default: break
            }
        }
        func country(of actorID: String, depth: Int = 0) -> CountryCode? {
            guard depth < 4, let actor = actors[actorID] else { return nil }
            for location in originatesFrom[actorID] ?? [] {
                if let c = locations[location] { return c }
            }
            if let c = actor.country { return c }
            for next in attributedTo[actorID] ?? [] where actors[next] != nil {
                if let c = country(of: next, depth: depth + 1) { return c }
            }
            return nil
        }
        for id in actorOrder {
            let a = actors[id]!
            doc.actors.append(ActorStatement(name: a.name, aliases: a.aliases, country: country(of: id)))
        }
        func campaignActors(_ campaignID: String) -> [String] {
            (attributedTo[campaignID] ?? []).filter { actors[$0] != nil }
        }
        for id in campaignOrder {
            doc.campaigns.append(CampaignStatement(name: campaigns[id]!, actor: campaignActors(id).first.flatMap { actors[$0]?.name }))
        }
        // Resolved once per actor and campaign, not once per indicator.
        var countries: [String: CountryCode] = [:]
        for id in actorOrder { countries[id] = country(of: id) }
        var attributions: [String: [String]] = [:]
        for id in campaignOrder { attributions[id] = campaignActors(id) }
        // An indicator in several reports gets one statement per report.
        var reportsOf: [String: [String]] = [:]
        for r in reports {
            for ref in r.refs where indicators[ref] != nil && !(reportsOf[ref]?.contains(r.name) ?? false) {
                reportsOf[ref, default: []].append(r.name)
            }
        }
        for id in indicatorOrder {
            let indicator = indicators[id]!
            let targets = indicates[id] ?? []
            let direct = targets.filter { actors[$0] != nil }
            let viaCampaigns = targets.filter { campaigns[$0] != nil }
            var pairs: [(actor: String?, campaign: String?)] = []
            for c in viaCampaigns {
                let attributed = attributions[c] ?? []
                let actorIDs = attributed.isEmpty ? direct : attributed
                if actorIDs.isEmpty { pairs.append((nil, c)) }
                for a in actorIDs { pairs.append((a, c)) }
            }
            if viaCampaigns.isEmpty {
                for a in direct { pairs.append((a, nil)) }
            }
            if pairs.isEmpty { pairs.append((nil, nil)) }
            let inReports: [String?] = reportsOf[id] ?? [nil]
            for (kind, value) in indicator.values {
                for pair in pairs {
                    for report in inReports {
                        doc.records.append(IntelStatement(
                            kind: kind, value: value, actor: pair.actor.flatMap { actors[$0]?.name },
                            actorCountry: pair.actor.flatMap { countries[$0] }, campaign: pair.campaign.flatMap { campaigns[$0] },
                            validFrom: indicator.validFrom, validUntil: indicator.validUntil, confidence: indicator.confidence,
                            report: report))
                    }
                }
            }
        }
        return doc
    }
}
