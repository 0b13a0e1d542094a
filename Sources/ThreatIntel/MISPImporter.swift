import TelemetryModel
import WireParsing

/// MISP events (`{"Event": {…}}`, a bare event, or `{"response": [{"Event": …}]}`),
/// feed directories (`manifest.json` + one file per event) and galaxy
/// cluster files such as `threat-actor.json`.
///
/// An event is one campaign named by its `info`; it is attributed to the
/// actor of its threat-actor galaxy cluster or `misp-galaxy:threat-actor="…"`
/// tag. Attributes (top level and inside objects) become indicators when
/// `to_ids` is set and their type maps to a Geneva kind.
package enum MISPImporter {
    /// MISP attribute type → the kinds of its value parts (`ip-dst|port` keeps the address).
    static let typeMap: [String: [IndicatorKind?]] = [
        "domain": [.domain], "hostname": [.domain],
        "ip-src": [.ipv4], "ip-dst": [.ipv4],
        "ip-src|port": [.ipv4, nil], "ip-dst|port": [.ipv4, nil],
        "domain|ip": [.domain, .ipv4], "hostname|port": [.domain, nil],
        "url": [.url], "uri": [.url],
        "email": [.email], "email-src": [.email], "email-dst": [.email], "email-reply-to": [.email],
        "md5": [.md5], "sha1": [.sha1], "sha256": [.sha256],
        "filename|md5": [nil, .md5], "filename|sha1": [nil, .sha1], "filename|sha256": [nil, .sha256],
    ]

    /// One event into `doc` (as one campaign).
    static func addEvent(_ event: JSONValue, to doc: inout IntelDocument) {
        let info = event["info"]?.string?.trimmingASCIIWhitespace() ?? ""
        let campaign = info.isEmpty ? (event["uuid"]?.string.map { "MISP event \($0)" }) : info

        // Actors: threat-actor galaxy clusters (with their meta), then tags.
        var actors: [ActorStatement] = []
        for galaxy in event["Galaxy"]?.array ?? [] where galaxy["type"]?.string == "threat-actor" {
            for cluster in galaxy["GalaxyCluster"]?.array ?? [] {
                if let actor = actorStatement(cluster) { actors.append(actor) }
            }
        }
        let tagPrefix = "misp-galaxy:threat-actor=\""
        for tag in event["Tag"]?.array ?? [] {
            guard let name = tag["name"]?.string, name.hasPrefix(tagPrefix), name.hasSuffix("\"") else { continue }
            let actorName = String(name.dropFirst(tagPrefix.count).dropLast())
            if !actorName.isEmpty, !actors.contains(where: { $0.name.lowercased() == actorName.lowercased() }) {
                actors.append(ActorStatement(name: actorName))
            }
        }
        doc.actors += actors
        let actor = actors.first
        if let campaign { doc.campaigns.append(CampaignStatement(name: campaign, actor: actor?.name)) }

        var attributes = event["Attribute"]?.array ?? []
        for object in event["Object"]?.array ?? [] where object["deleted"]?.scalarText != "true" && object["deleted"]?.scalarText != "1" {
            attributes += object["Attribute"]?.array ?? []
        }
        for attribute in attributes {
            guard attribute["deleted"]?.scalarText != "true" && attribute["deleted"]?.scalarText != "1" else { continue }
            let toIDs = attribute["to_ids"]?.scalarText
            guard toIDs == "true" || toIDs == "1" else {
                doc.skip("not_to_ids")
                continue
            }
            guard let type = attribute["type"]?.string, let value = attribute["value"]?.scalarText else {
                doc.skip("misp_attribute_without_type_or_value")
                continue
            }
            guard let kinds = typeMap[type] else {
                doc.skip("unsupported_type:\(type)")
                continue
            }
            var parts = [value]
            if kinds.count == 2 {
                // `filename|sha256`: the file name may itself contain '|', the hash never; split at the last one.
                // (`ip-dst|port`, `domain|ip`: no '|' in either part, so the last is the only one.)
                guard let bar = value.lastIndex(of: "|") else {
                    doc.skip("invalid_\(type)")
                    continue
                }
                parts = [String(value[..<bar]), String(value[value.index(after: bar)...])]
            }
            guard parts.count == kinds.count else {
                doc.skip("invalid_\(type)")
                continue
            }
            for (kind, part) in zip(kinds, parts) {
                guard var kind else { continue }
                // ip-* types carry IPv4 or IPv6 (and sometimes a CIDR).
                if kind == .ipv4 {
                    if part.contains("/") { kind = .cidr } else if part.contains(":") { kind = .ipv6 }
                }
                switch kind.normalize(part) {
                case .success(let normalised):
                    doc.records.append(IntelStatement(
                        kind: kind, value: normalised, actor: actor?.name, actorCountry: actor?.country, campaign: campaign,
                        validFrom: nil, validUntil: nil, confidence: nil))
                case .failure(let e):
                    doc.skip(e.reason)
                }
            }
        }
    }

    /// A galaxy cluster (`value`, `meta.synonyms`, `meta.country`,
    /// `meta.cfr-suspected-state-sponsor`) as an actor.
    static func actorStatement(_ cluster: JSONValue) -> ActorStatement? {
        guard let name = cluster["value"]?.string?.trimmingASCIIWhitespace(), !name.isEmpty else { return nil }
        let meta = cluster["meta"]
        let synonyms = (meta?["synonyms"]?.array ?? []).compactMap { $0.string?.trimmingASCIIWhitespace() }
            .filter { !$0.isEmpty && $0.lowercased() != name.lowercased() }
        var country = meta?["country"]?.string.flatMap(CountryCode.init)
        if country == nil, let sponsor = meta?["cfr-suspected-state-sponsor"]?.string {
            country = CountryNames.code(for: sponsor)
        }
        return ActorStatement(name: name, aliases: synonyms, country: country)
    }

    /// A threat-actor galaxy cluster file.
    static func galaxy(_ root: JSONValue, source: String) throws(IntelImportError) -> IntelDocument {
        guard root["type"]?.string == "threat-actor" else {
            let type = root["type"]?.string ?? "?"
            throw IntelImportError(.unsupportedFormat, "\(source): MISP galaxy of type \"\(type.prefix(40))\"; only threat-actor galaxies carry actors and countries")
        }
        var doc = IntelDocument(source: source, format: .mispGalaxy)
        for cluster in root["values"]?.array ?? [] {
            if let actor = actorStatement(cluster) { doc.actors.append(actor) } else { doc.skip("galaxy_cluster_without_value") }
        }
        return doc
    }

    /// The event objects inside a parsed MISP document.
    static func events(in root: JSONValue) -> [JSONValue]? {
        if let event = root["Event"] { return [event] }
        if let response = root["response"]?.array { return response.compactMap { $0["Event"] ?? ($0["info"] != nil ? $0 : nil) } }
        if root["info"] != nil, root["Attribute"] != nil || root["Object"] != nil { return [root] }
        if let items = root.array, items.allSatisfy({ $0["Event"] != nil }) { return items.compactMap { $0["Event"] } }
        return nil
    }
}

/// Country names as MISP galaxies write them (`cfr-suspected-state-sponsor`)
/// → ISO 3166-1 alpha-2. Names not listed (and "Unknown") give no country.
package enum CountryNames {
    static let table: [String: String] = [
        "china": "CN", "people's republic of china": "CN", "prc": "CN",
        "russia": "RU", "russian federation": "RU",
        "iran": "IR", "iran (islamic republic of)": "IR", "islamic republic of iran": "IR",
        "north korea": "KP", "korea (democratic people's republic of)": "KP", "democratic people's republic of korea": "KP", "dprk": "KP",
        "south korea": "KR", "korea (republic of)": "KR", "republic of korea": "KR",
        "united states": "US", "united states of america": "US", "us": "US", "usa": "US",
        "united kingdom": "GB", "uk": "GB", "great britain": "GB",
        "palestine": "PS", "state of palestine": "PS", "pakistan": "PK", "india": "IN", "belarus": "BY", "france": "FR",
        "united arab emirates": "AE", "uae": "AE", "vietnam": "VN", "viet nam": "VN", "spain": "ES", "israel": "IL",
        "lebanon": "LB", "turkey": "TR", "türkiye": "TR", "ukraine": "UA", "syria": "SY", "syrian arab republic": "SY",
        "germany": "DE", "nigeria": "NG", "indonesia": "ID", "tunisia": "TN", "egypt": "EG", "saudi arabia": "SA",
        "kazakhstan": "KZ", "iraq": "IQ", "italy": "IT", "netherlands": "NL", "brazil": "BR", "colombia": "CO",
        "mexico": "MX", "morocco": "MA", "algeria": "DZ", "qatar": "QA", "bahrain": "BH", "ethiopia": "ET",
        "uzbekistan": "UZ", "thailand": "TH", "singapore": "SG", "malaysia": "MY", "philippines": "PH", "taiwan": "TW",
        "japan": "JP", "australia": "AU", "canada": "CA", "sweden": "SE", "romania": "RO", "georgia": "GE",
        "armenia": "AM", "azerbaijan": "AZ", "afghanistan": "AF", "bangladesh": "BD", "sri lanka": "LK",
    ]

    package static func code(for name: String) -> CountryCode? {
        let key = name.trimmingASCIIWhitespace().lowercased()
        if let code = table[key] { return CountryCode(code) }
        return nil
    }
}
