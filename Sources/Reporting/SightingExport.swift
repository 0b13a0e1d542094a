import TelemetryModel
import WireParsing

/// Sightings as documents other tools read: the NDJSON line of `geneva
/// sightings`, a STIX 2.1 bundle of `sighting` objects, MISP sightings.
/// Only what a sighting stores goes out: the matched value, never payload.
package enum SightingExport {
    /// One sighting as JSON; `nation_state` per SPEC §4, so that the report's
    /// totals follow from these lines alone.
    package static func json(_ r: SightingRow) -> JSONValue {
        .object([
            ("time", .string(r.time.rfc3339)), ("customer", .string(r.customerID)),
            ("customer_country", r.customerCountry.map { .string($0.code) } ?? .null),
            ("sensor", .string(r.sensor)), ("evidence", .string(r.evidence)),
            (keyName(r), .string(r.key)),
            ("source", .string(r.source)), ("offset", .int(Int(r.offset))), ("observed", .string(r.observed)),
            ("indicator", .object([("kind", .string(r.indicatorKind)), ("value", .string(r.indicatorValue))])),
            ("attributions", .array(r.attributions.map { a in
                .object([
                    ("actor", a.actor.map(JSONValue.string) ?? .null),
                    ("actor_country", a.actorCountry.map { .string($0.code) } ?? .null),
                    ("campaign", a.campaignID.map(JSONValue.string) ?? .null),
                    ("campaign_name", a.campaignName.map(JSONValue.string) ?? .null),
                ])
            })),
            ("nation_state", .bool(r.nationState)),
        ])
    }

    /// `message` for mail-log evidence (queue id / message id), else `flow`.
    static func keyName(_ r: SightingRow) -> String { r.evidence.hasPrefix("maillog") ? "message" : "flow" }

    // MARK: STIX 2.1

    /// A STIX 2.1 bundle, written in two passes over the sightings so that
    /// millions of them never sit in memory: `collect` every sighting, then
    /// write `header()`, `sighting(_:)` for every sighting (same order), and
    /// `footer`. Objects: Geneva as the producing identity, one identity per
    /// customer, one indicator per sighted indicator, one `sighting` per
    /// sighting (count 1, first and last seen its time). Ids are stable
    /// (`StableHash.uuid`) so a re-export deduplicates at the consumer.
    package struct STIXBundleWriter {
        private struct Indicator {
            var kind: String, value: String, firstSeen: Timestamp
        }

        private let customerNames: [String: String]
        private let validFrom: [Int64: Timestamp]
        private var customers: [(id: String, country: CountryCode?)] = []
        private var seenCustomers: Set<String> = []
        private var indicators: [(id: Int64, indicator: Indicator)] = []
        private var indicatorIndex: [Int64: Int] = [:]
        private var contentHash: UInt64 = 0xcbf2_9ce4_8422_2325
        /// Sightings stored after pass 1 (higher ids) are left out of pass 2.
        private var maxSighting: Int64 = .min

        private let producer = "identity--" + StableHash.uuid("geneva-producer")
        private let extensionID = "extension-definition--" + StableHash.uuid("geneva-sighting-extension-1")
        private var extensionRef: JSONValue {
            .object([(extensionID, .object([("extension_type", .string("toplevel-property-extension"))]))])
        }

        /// - Parameters:
        ///   - customers: customer id → name (identity names).
        ///   - validFrom: indicator id → the earliest `valid_from` its intel gives.
        package init(customers: [String: String], validFrom: [Int64: Timestamp]) {
            customerNames = customers
            self.validFrom = validFrom
        }

        /// Pass 1: notes the sighting's customer and indicator.
        package mutating func collect(_ r: SightingRow) {
            if seenCustomers.insert(r.customerID).inserted { customers.append((r.customerID, r.customerCountry)) }
            if let i = indicatorIndex[r.indicatorID] {
                indicators[i].indicator.firstSeen = min(indicators[i].indicator.firstSeen, r.time)
            } else if SightingExport.stixPattern(kind: r.indicatorKind, value: r.indicatorValue) != nil {
                indicatorIndex[r.indicatorID] = indicators.count
                indicators.append((r.indicatorID, Indicator(kind: r.indicatorKind, value: r.indicatorValue, firstSeen: r.time)))
            }
            contentHash = StableHash.fnv1a64("\(r.id)\u{1F}", seed: contentHash)
            maxSighting = max(maxSighting, r.id)
        }

        private static func identityID(_ customer: String) -> String { "identity--" + StableHash.uuid("customer\u{1F}" + customer) }
        private static func indicatorID(_ kind: String, _ value: String) -> String {
            "indicator--" + StableHash.uuid("indicator\u{1F}\(kind)\u{1F}\(value)")
        }

        /// The bundle's opening and every object that is not a sighting, each
        /// object on its own line, ready for `sighting(_:)` lines to follow.
        package func header() -> String {
            let epoch = Timestamp(nanoseconds: 0).rfc3339Milliseconds
            var objects: [JSONValue] = [
                .object([
                    ("type", .string("identity")), ("spec_version", .string("2.1")), ("id", .string(producer)),
                    ("created", .string(epoch)), ("modified", .string(epoch)),
                    ("name", .string("Geneva")), ("identity_class", .string("system")),
                ]),
                // Geneva's own properties on identities and sightings, declared as STIX 2.1 asks.
                .object([
                    ("type", .string("extension-definition")), ("spec_version", .string("2.1")), ("id", .string(extensionID)),
                    ("created_by_ref", .string(producer)), ("created", .string(epoch)), ("modified", .string(epoch)),
                    ("name", .string("Geneva sighting evidence")),
                    ("description", .string("Where and how Geneva saw an indicator: evidence kind (SPEC §2), sensor, flow or message key, "
                        + "the observed value, the victim's country, and whether the sighting counts toward nation-state totals.")),
                    ("schema", .string("docs/analyst-guide.md#export")), ("version", .string("1.0")),
                    ("extension_types", .array([.string("toplevel-property-extension")])),
                    ("extension_properties", .array([
                        "x_geneva_country", "x_geneva_evidence", "x_geneva_sensor", "x_geneva_flow", "x_geneva_message", "x_geneva_observed",
                        "x_geneva_nation_state",
                    ].map(JSONValue.string))),
                ]),
            ]
            for (customer, country) in customers {
                var fields: [(String, JSONValue)] = [
                    ("type", .string("identity")), ("spec_version", .string("2.1")), ("id", .string(Self.identityID(customer))),
                    ("created", .string(epoch)), ("modified", .string(epoch)), ("created_by_ref", .string(producer)),
                    ("name", .string(customerNames[customer] ?? customer)), ("identity_class", .string("organization")),
                ]
                if let country {
                    fields.append(("x_geneva_country", .string(country.code)))
                    fields.append(("extensions", extensionRef))
                }
                objects.append(.object(fields))
            }
            for (id, i) in indicators {
                let from = (validFrom[id] ?? i.firstSeen).rfc3339Milliseconds
                objects.append(.object([
                    ("type", .string("indicator")), ("spec_version", .string("2.1")), ("id", .string(Self.indicatorID(i.kind, i.value))),
                    ("created", .string(from)), ("modified", .string(from)), ("created_by_ref", .string(producer)),
                    ("name", .string("\(i.kind) \(i.value)")),
                    ("description", .string("Threat-intel indicator Geneva matched; see the sightings that refer to it.")),
                    ("indicator_types", .array([.string("malicious-activity")])),
                    ("pattern", .string(SightingExport.stixPattern(kind: i.kind, value: i.value)!)), ("pattern_type", .string("stix")),
                    ("pattern_version", .string("2.1")), ("valid_from", .string(from)),
                ]))
            }
            let bundleID = "bundle--" + StableHash.uuid("bundle\u{1F}" + StableHash.hex(contentHash))
            return "{\"type\": \"bundle\", \"id\": \"\(bundleID)\", \"objects\": [\n"
                + objects.map { $0.serialized() }.joined(separator: ",\n")
        }

        /// Pass 2: one sighting's object as a line (with its leading comma),
        /// or nil when its indicator has no STIX pattern.
        package func sighting(_ r: SightingRow) -> String? {
            guard r.id <= maxSighting, indicatorIndex[r.indicatorID] != nil, seenCustomers.contains(r.customerID) else { return nil }
            let identityText = [r.indicatorKind, r.indicatorValue, r.customerID, r.sensor, r.evidence, r.key, String(r.time.nanoseconds)]
                .joined(separator: "\u{1F}")
            let time = r.time.rfc3339Milliseconds
            return ",\n" + JSONValue.object([
                ("type", .string("sighting")), ("spec_version", .string("2.1")),
                ("id", .string("sighting--" + StableHash.uuid("sighting\u{1F}" + identityText))),
                ("created", .string(time)), ("modified", .string(time)), ("created_by_ref", .string(producer)),
                ("first_seen", .string(time)), ("last_seen", .string(time)), ("count", .int(1)),
                ("sighting_of_ref", .string(Self.indicatorID(r.indicatorKind, r.indicatorValue))),
                ("where_sighted_refs", .array([.string(Self.identityID(r.customerID))])),
                ("description", .string("\(r.evidence) \(r.observed) at \(r.customerID)/\(r.sensor)")),
                ("x_geneva_evidence", .string(r.evidence)), ("x_geneva_sensor", .string(r.sensor)),
                ("x_geneva_\(keyName(r))", .string(r.key)), ("x_geneva_observed", .string(r.observed)),
                ("x_geneva_nation_state", .bool(r.nationState)), ("extensions", extensionRef),
            ]).serialized()
        }

        package static let footer = "\n]}\n"
    }

    /// A STIX pattern for one normalised indicator; nil for a kind STIX
    /// cannot express (none today).
    package static func stixPattern(kind: String, value: String) -> String? {
        let quoted = "'" + value.replacingBackslashesAndQuotes() + "'"
        switch kind {
        case "domain": return "[domain-name:value = \(quoted)]"
        case "ipv4": return "[ipv4-addr:value = \(quoted)]"
        case "ipv6": return "[ipv6-addr:value = \(quoted)]"
        case "cidr": return value.contains(":") ? "[ipv6-addr:value ISSUBSET \(quoted)]" : "[ipv4-addr:value ISSUBSET \(quoted)]"
        case "url": return "[url:value = \(quoted)]"
        case "email": return "[email-addr:value = \(quoted)]"
        case "md5": return "[file:hashes.MD5 = \(quoted)]"
        case "sha1": return "[file:hashes.'SHA-1' = \(quoted)]"
        case "sha256": return "[file:hashes.'SHA-256' = \(quoted)]"
        default: return nil
        }
    }

    // MARK: MISP

    /// MISP sightings as `/sightings/restSearch` returns them and
    /// `/sightings/add` (PyMISP `MISPSighting`) takes them: value, type 0
    /// (a sighting), source, and the time as epoch seconds. Streamed:
    /// `mispHeader`, `misp(_:first:)` per sighting, `mispFooter`.
    package static let mispHeader = "{\"response\": [\n"
    package static let mispFooter = "\n]}\n"

    package static func misp(_ r: SightingRow, first: Bool) -> String {
        let epoch = String(r.time.seconds)
        return (first ? "" : ",\n") + JSONValue.object([("Sighting", .object([
            ("value", .string(r.indicatorValue)), ("type", .string("0")),
            ("source", .string("geneva \(r.customerID)/\(r.sensor) \(r.evidence)")),
            ("timestamp", .string(epoch)), ("date_sighting", .string(epoch)),
        ]))]).serialized()
    }
}

extension String {
    /// STIX pattern string literal escaping: `\` and `'` take a backslash.
    fileprivate func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for c in self {
            if c == "\\" || c == "'" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
