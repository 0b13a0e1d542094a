import TelemetryModel

// Markdown and HTML reports (SPEC §5, §6): the headline first, then the
// numbers by actor country, the campaigns and the coverage the numbers rest
// on. The HTML report is one self-contained file (inline CSS and SVG charts,
// no script, no network).
extension ReportRenderer {
    // MARK: Markdown

    package static func markdown(_ report: NationStateReport) -> String {
        let t = report.totals
        var out = "# " + headline(report) + "\n\n"
        out += "| nation-state | count |\n|---|---:|\n"
        out += "| customers attacked | \(t.customers) |\n| victim countries | \(t.countries) |\n"
        out += "| actors | \(t.actors) |\n| campaigns | \(t.campaigns) |\n| sightings | \(t.sightings) |\n\n"
        out += "**Window:** \(windowText(report)).  \n**Coverage:** \(coverageText(report)).\n"
        if !report.byActorCountry.isEmpty {
            out += "\n## By actor country\n\n| actor country | actors | campaigns | customers | victim countries |\n|---|---|---:|---:|---:|\n"
            for r in report.byActorCountry {
                out += "| \(r.country.code) | \(md(r.actors.joined(separator: ", "))) | \(r.campaigns) | \(r.customers) | \(r.countries) |\n"
            }
        }
        if !report.byVictimCountry.isEmpty {
            out += "\n## Customers attacked by victim country\n\n| victim country | customers |\n|---|---:|\n"
            for r in report.byVictimCountry { out += "| \(r.country.code) | \(r.customers) |\n" }
        }
        if !report.campaigns.isEmpty {
            out += "\n## Campaigns\n\n| id | name | origin | actor | actor country | customers | victim countries | first seen | last seen | indicators | sightings |\n"
            out += "|---|---|---|---|---|---:|---|---|---|---:|---:|\n"
            for c in report.campaigns {
                out += "| \(md(c.id)) | \(md(c.name)) | \(c.origin.rawValue) | \(md(ReportRenderer.actorCell(c))) | \(c.actorCountry?.code ?? "-") | \(c.customers) | "
                    + "\(c.countries.map(\.code).joined(separator: " ")) | \(c.firstSeen.rfc3339) | \(c.lastSeen.rfc3339) | \(c.indicators) | \(c.sightings) |\n"
            }
        }
        if !report.sightingsPerWeek.isEmpty {
            out += "\n## Nation-state sightings per week\n\n| week of | sightings |\n|---|---:|\n"
            for w in report.sightingsPerWeek { out += "| \(w.weekStart.rfc3339.prefix(10)) | \(w.sightings) |\n" }
        }
        return out
    }

    /// "since .. until", an open end as "(open)" (all formats).
    static func windowText(_ report: NationStateReport) -> String {
        let since = (report.window.since ?? report.firstSighting)?.rfc3339 ?? "(open)"
        return "\(since) .. \(report.window.until?.rfc3339 ?? "(open)")"
    }

    static func coverageText(_ report: NationStateReport) -> String {
        let c = report.coverage
        return "\(c.sensorsReporting) of \(plural(c.sensors, "sensor")) reporting in the window; capture loss "
            + (c.captureLossMax.map { "max \($0 * 100)%" } ?? "not measured (file scans)")
    }

    /// Table cells: `|` and line breaks would break the row.
    static func md(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "|": out += "\\|"
            case "\n", "\r", "\r\n": out += " "
            default: out.append(ch)
            }
        }
        return out
    }

    // MARK: HTML

    package static func html(_ report: NationStateReport) -> String {
        let t = report.totals
        var body = "<h1>\(esc(headline(report)))</h1>\n"
        body += "<div class=\"totals\">"
        for (label, value) in [("customers attacked", t.customers), ("victim countries", t.countries), ("actors", t.actors),
                               ("campaigns", t.campaigns), ("sightings", t.sightings)] {
            body += "<div><b>\(value)</b><span>\(label)</span></div>"
        }
        body += "</div>\n<p class=\"meta\">Window: \(esc(windowText(report))). Coverage: \(esc(coverageText(report))).</p>\n"
        body += "<div class=\"charts\">\n"
        body += section("Customers attacked by victim country",
                        barChart(report.byVictimCountry.map { ($0.country.code, $0.customers) }, unit: "customers"))
        body += section("Campaigns by actor country",
                        barChart(report.byActorCountry.map { ($0.country.code, $0.campaigns) }, unit: "campaigns"))
        body += section("Nation-state sightings per week",
                        columnChart(continuousWeeks(report.sightingsPerWeek).map { (String($0.weekStart.rfc3339.prefix(10)), $0.sightings) }))
        body += "</div>\n"
        if !report.byActorCountry.isEmpty {
            body += "<h2>By actor country</h2>\n" + htmlTable(
                ["actor country", "actors", "campaigns", "customers", "victim countries"],
                report.byActorCountry.map { [$0.country.code, $0.actors.joined(separator: ", "), "\($0.campaigns)", "\($0.customers)", "\($0.countries)"] })
        }
        if !report.campaigns.isEmpty {
            body += "<h2>Campaigns</h2>\n" + htmlTable(
                ["id", "name", "origin", "actor", "actor country", "customers", "victim countries", "first seen", "last seen", "indicators", "sightings"],
                report.campaigns.map {
                    [$0.id, $0.name, $0.origin.rawValue, ReportRenderer.actorCell($0), $0.actorCountry?.code ?? "-", "\($0.customers)",
                     $0.countries.map(\.code).joined(separator: " "), $0.firstSeen.rfc3339, $0.lastSeen.rfc3339,
                     "\($0.indicators)", "\($0.sightings)"]
                })
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(esc(headline(report)))</title>
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#1d2433;padding:0 1em}
            h1{font-size:1.6em;line-height:1.3}h2{font-size:1.15em;margin-top:1.6em}
            .totals{display:flex;gap:1em;flex-wrap:wrap}.totals div{background:#f1f4f9;border-radius:6px;padding:.6em 1em;min-width:8em}
            .totals b{display:block;font-size:1.8em}.totals span{color:#556}
            .meta{color:#556}.charts{display:flex;flex-wrap:wrap;gap:1.5em}
            .chart h2{margin-top:1em}table{border-collapse:collapse;font-size:.9em}
            th,td{border-bottom:1px solid #dde;padding:.3em .6em;text-align:left}td.n,th.n{text-align:right}
            svg text{font-size:12px;fill:#1d2433}
            </style></head><body>
            \(body)</body></html>

            """
    }

    /// The weeks from the first to the last with sightings, empty ones as 0,
    /// so that the time axis is linear (up to ten years; beyond, as given).
    static func continuousWeeks(_ weeks: [NationStateReport.WeekRow]) -> [NationStateReport.WeekRow] {
        guard let first = weeks.first?.weekStart.nanoseconds, let last = weeks.last?.weekStart.nanoseconds else { return [] }
        let week: Int64 = 7 * 86_400_000_000_000
        guard (last - first) / week < 520 else { return weeks }
        var counts: [Int64: Int] = [:]
        for w in weeks { counts[w.weekStart.nanoseconds] = w.sightings }
        return stride(from: first, through: last, by: Int(week)).map {
            NationStateReport.WeekRow(weekStart: Timestamp(nanoseconds: $0), sightings: counts[$0] ?? 0)
        }
    }

    static func section(_ title: String, _ svg: String) -> String {
        "<div class=\"chart\"><h2>\(esc(title))</h2>\n\(svg)</div>\n"
    }

    static func htmlTable(_ header: [String], _ rows: [[String]]) -> String {
        func numeric(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy(\.isNumber) }
        var out = "<table><thead><tr>" + header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in rows {
            out += "<tr>" + row.map { "<td\(numeric($0) ? " class=\"n\"" : "")>\(esc($0))</td>" }.joined() + "</tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    /// Horizontal bars, one per labelled value, scaled to the largest.
    static func barChart(_ items: [(String, Int)], unit: String) -> String {
        guard let top = items.map(\.1).max(), top > 0 else { return "<p class=\"meta\">No data in the window.</p>" }
        let rowHeight = 24, labelWidth = 60, barWidth = 380
        let height = items.count * rowHeight + 8
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barWidth + 60)\" height=\"\(height)\" role=\"img\" aria-label=\"\(esc(unit))\">"
        for (i, (label, value)) in items.enumerated() {
            let y = i * rowHeight + 4
            let w = max(1, value * barWidth / top)
            svg += "<text x=\"0\" y=\"\(y + 16)\">\(esc(label))</text>"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(rowHeight - 8)\" fill=\"#3b6fd8\"><title>\(esc(label)): \(value) \(esc(unit))</title></rect>"
            svg += "<text x=\"\(labelWidth + w + 6)\" y=\"\(y + 16)\">\(value)</text>"
        }
        return svg + "</svg>\n"
    }

    /// Vertical columns over time (one per week with sightings), labels thinned.
    static func columnChart(_ items: [(String, Int)]) -> String {
        guard let top = items.map(\.1).max(), top > 0 else { return "<p class=\"meta\">No data in the window.</p>" }
        let plotHeight = 180, width = 520
        let column = max(4, min(40, width / max(1, items.count)))
        let labelEvery = max(1, items.count / 6)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(column * items.count + 80)\" height=\"\(plotHeight + 50)\" role=\"img\" aria-label=\"sightings per week\">"
        svg += "<text x=\"0\" y=\"12\">\(top)</text><line x1=\"30\" y1=\"\(plotHeight + 10)\" x2=\"\(30 + column * items.count)\" y2=\"\(plotHeight + 10)\" stroke=\"#889\"/>"
        for (i, (label, value)) in items.enumerated() {
            let h = value == 0 ? 0 : max(1, value * plotHeight / top)
            let x = 30 + i * column
            svg += "<rect x=\"\(x + 1)\" y=\"\(plotHeight + 10 - h)\" width=\"\(max(2, column - 2))\" height=\"\(h)\" fill=\"#d8553b\"><title>week of \(esc(label)): \(value)</title></rect>"
            if i % labelEvery == 0 {
                svg += "<text x=\"\(x)\" y=\"\(plotHeight + 28)\">\(esc(String(label.dropFirst(5))))</text>"
            }
        }
        return svg + "</svg>\n"
    }

    /// HTML text and attribute escaping.
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
