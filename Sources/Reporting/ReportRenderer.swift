import TelemetryModel
import WireParsing

/// Renders a ``NationStateReport`` as the headline sentence, text or JSON
/// (SPEC §6). Every format leads with the same headline.
package enum ReportRenderer {
    /// "Since 21 June 2016, nation-state actors attacked 60 customers in 49
    /// countries." The start is `--since` or, without it, the day of the first
    /// in-window nation-state sighting; with `--until` the sentence names
    /// both ends.
    package static func headline(_ report: NationStateReport) -> String {
        let t = report.totals
        let since = report.window.since ?? report.firstSighting
        let opening: String
        switch (since, report.window.until) {
        case (let s?, let u?): opening = "From \(s.longDate) until \(u.longDate), "
        case (let s?, nil): opening = "Since \(s.longDate), "
        case (nil, let u?): opening = "Until \(u.longDate), "
        case (nil, nil): opening = ""
        }
        guard t.customers > 0 else {
            let sentence = "no nation-state attack on a customer was sighted."
            return opening.isEmpty ? "No nation-state attack on a customer was sighted." : opening + sentence
        }
        let body = "nation-state actors attacked \(plural(t.customers, "customer")) in \(plural(t.countries, "country", "countries"))."
        return opening.isEmpty ? "N" + body.dropFirst() : opening + body
    }

    package static func plural(_ n: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
        "\(n) \(n == 1 ? singular : (pluralForm ?? singular + "s"))"
    }

    // MARK: JSON

    package static func json(_ report: NationStateReport) -> JSONValue {
        let t = report.totals
        let since = report.window.since ?? report.firstSighting
        return .object([
            ("window", .object([
                ("since", since.map { .string($0.rfc3339) } ?? .null),
                ("until", report.window.until.map { .string($0.rfc3339) } ?? .null),
            ])),
            ("nation_state", .object([
                ("customers", .int(t.customers)), ("countries", .int(t.countries)), ("actors", .int(t.actors)),
                ("campaigns", .int(t.campaigns)), ("sightings", .int(t.sightings)),
            ])),
            ("by_actor_country", .array(report.byActorCountry.map { row in
                .object([
                    ("country", .string(row.country.code)), ("actors", .array(row.actors.map(JSONValue.string))),
                    ("campaigns", .int(row.campaigns)), ("customers", .int(row.customers)), ("countries", .int(row.countries)),
                ])
            })),
            ("campaigns", .array(report.campaigns.map(campaignJSON))),
            ("coverage", .object([
                ("sensors", .int(report.coverage.sensors)), ("sensors_reporting", .int(report.coverage.sensorsReporting)),
                ("capture_loss_max", report.coverage.captureLossMax.map(JSONValue.double) ?? .null),
            ])),
            ("headline", .string(headline(report))),
            // Keys beyond SPEC §6 (the charts' series).
            ("by_victim_country", .array(report.byVictimCountry.map {
                .object([("country", .string($0.country.code)), ("customers", .int($0.customers))])
            })),
            ("sightings_per_week", .array(report.sightingsPerWeek.map {
                .object([("week", .string($0.weekStart.rfc3339)), ("sightings", .int($0.sightings))])
            })),
        ])
    }

    /// One campaign with its evidence (`geneva campaign ID --format json`,
    /// `GET /v1/campaigns/{id}`): the campaign row, then every sighting with
    /// why it is in the campaign.
    package static func campaignEvidenceJSON(
        _ c: NationStateReport.CampaignRow, evidence: [(sighting: SightingRow, reason: String, via: Int64?, why: String)]
    ) -> JSONValue {
        guard case .object(var fields) = campaignJSON(c) else { return campaignJSON(c) }
        fields.append(("evidence", .array(evidence.map { e in
            guard case .object(var f) = SightingExport.json(e.sighting) else { return SightingExport.json(e.sighting) }
            f.insert(("sighting", .int(Int(e.sighting.id))), at: 0)
            f.append(("reason", .string(e.reason)))
            f.append(("via", e.via.map { .int(Int($0)) } ?? .null))
            f.append(("why", .string(e.why)))
            return .object(f)
        })))
        return .object(fields)
    }

    /// One campaign as SPEC §6 lists it (shared by `report`, `campaigns`, `campaign`).
    package static func campaignJSON(_ c: NationStateReport.CampaignRow) -> JSONValue {
        .object([
            ("id", .string(c.id)), ("name", .string(c.name)), ("origin", .string(c.origin.rawValue)),
            ("actor", c.actor.json), ("actor_country", c.actorCountry.map { .string($0.code) } ?? .null),
            ("customers", .int(c.customers)), ("countries", .array(c.countries.map { .string($0.code) })),
            ("first_seen", .string(c.firstSeen.rfc3339)), ("last_seen", .string(c.lastSeen.rfc3339)),
            ("indicators", .int(c.indicators)), ("sightings", .int(c.sightings)),
            ("confidence", c.confidence.map(JSONValue.int) ?? .null),
        ])
    }

    /// A campaign's actor for tables: the name, with the clustering
    /// confidence when there is one (`UNC4411 (100%)`), or `-`.
    package static func actorCell(_ c: NationStateReport.CampaignRow) -> String {
        (c.actor ?? "-") + (c.actor != nil ? c.confidence.map { " (\($0)%)" } ?? "" : "")
    }

    /// The campaigns table of the text report and of `geneva campaigns`.
    package static func campaignTable(_ campaigns: [NationStateReport.CampaignRow]) -> String {
        table(
            header: ["id", "name", "origin", "actor", "actor country", "customers", "victim countries", "first seen", "last seen", "indicators", "sightings"],
            rows: campaigns.map {
                [$0.id, $0.name, $0.origin.rawValue, actorCell($0), $0.actorCountry?.code ?? "-",
                 "\($0.customers)", $0.countries.map(\.code).joined(separator: " "), $0.firstSeen.rfc3339, $0.lastSeen.rfc3339,
                 "\($0.indicators)", "\($0.sightings)"]
            })
    }

    // MARK: Text

    package static func text(_ report: NationStateReport) -> String {
        let t = report.totals
        var out = headline(report) + "\n\n"
        out += "Window: \(windowText(report))\n"
        out += "Nation-state: \(plural(t.customers, "customer")), \(plural(t.countries, "victim country", "victim countries")), "
            + "\(plural(t.actors, "actor")), \(plural(t.campaigns, "campaign")), \(plural(t.sightings, "sighting"))\n"
        out += "Coverage: \(coverageText(report))\n"

        if !report.byActorCountry.isEmpty {
            out += "\nBy actor country\n"
            out += table(
                header: ["country", "actors", "campaigns", "customers", "victim countries"],
                rows: report.byActorCountry.map {
                    [$0.country.code, $0.actors.joined(separator: ", "), "\($0.campaigns)", "\($0.customers)", "\($0.countries)"]
                })
        }
        if !report.campaigns.isEmpty {
            out += "\nCampaigns\n"
            out += campaignTable(report.campaigns)
        }
        return out
    }

    /// A plain left-aligned table with a dashed rule under the header.
    package static func table(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, cell) in cells.enumerated() {
                let padded = i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
                s += (i == 0 ? "" : "  ") + padded
            }
            return s + "\n"
        }
        return line(header) + line(widths.map { String(repeating: "-", count: $0) }) + rows.map(line).joined()
    }
}
