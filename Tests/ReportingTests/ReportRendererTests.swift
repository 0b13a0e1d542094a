import Foundation
import Reporting
import Testing
import TelemetryModel
import WireParsing

@Suite struct ReportRendererTests {
    func report(customers: Int, countries: Int, since: String? = nil, until: String? = nil, first: String? = "2016-06-21T08:00:00Z") -> NationStateReport {
        NationStateReport(
            window: TimeWindow(since: since.flatMap(Timestamp.init(parsing:)), until: until.flatMap(Timestamp.init(parsing:))),
            firstSighting: first.flatMap(Timestamp.init(parsing:)), lastSighting: nil,
            totals: .init(customers: customers, countries: countries, actors: 6, campaigns: 10, sightings: 1234),
            byActorCountry: [.init(country: CountryCode("RU")!, actors: ["APT28", "APT29"], campaigns: 3, customers: 21, countries: 17)],
            campaigns: [.init(id: "intel-x", name: "X \"quoted\"", origin: .intel, actor: "APT28", actorCountry: CountryCode("RU"),
                              customers: 12, countries: [CountryCode("DE")!, CountryCode("FR")!],
                              firstSeen: Timestamp(parsing: "2016-06-21")!, lastSeen: Timestamp(parsing: "2016-07-01")!, indicators: 14, sightings: 80)],
            coverage: .init(sensors: 75, sensorsReporting: 73, captureLossMax: nil))
    }

    @Test func headlineMatchesTheSpecSentence() {
        #expect(ReportRenderer.headline(report(customers: 60, countries: 49, since: "2016-06-21"))
            == "Since 21 June 2016, nation-state actors attacked 60 customers in 49 countries.")
        #expect(ReportRenderer.headline(report(customers: 60, countries: 49))
            == "Since 21 June 2016, nation-state actors attacked 60 customers in 49 countries.", "without --since: the first sighting's day")
        #expect(ReportRenderer.headline(report(customers: 1, countries: 1, since: "2016-06-21", until: "2017-03-28"))
            == "From 21 June 2016 until 28 March 2017, nation-state actors attacked 1 customer in 1 country.")
        #expect(ReportRenderer.headline(report(customers: 0, countries: 0, first: nil))
            == "No nation-state attack on a customer was sighted.")
        #expect(ReportRenderer.headline(report(customers: 0, countries: 0, since: "2020-01-01", first: nil))
            == "Since 1 January 2020, no nation-state attack on a customer was sighted.")
    }

    @Test func jsonHasTheSpecKeysInOrder() {
        let json = ReportRenderer.json(report(customers: 60, countries: 49, since: "2016-06-21", until: "2017-03-28"))
        guard case .object(let members) = json else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.0) == ["window", "nation_state", "by_actor_country", "campaigns", "coverage", "headline",
                                      "by_victim_country", "sightings_per_week"])
        let text = json.serialized()
        #expect(text.contains(#""window":{"since":"2016-06-21T00:00:00Z","until":"2017-03-28T00:00:00Z"}"#))
        #expect(text.contains(#""nation_state":{"customers":60,"countries":49,"actors":6,"campaigns":10,"sightings":1234}"#))
        #expect(text.contains(#""name":"X \"quoted\"""#))
        #expect(text.contains(#""countries":["DE","FR"]"#))
        #expect(text.contains(#""capture_loss_max":null"#))
    }

    @Test func textLeadsWithTheHeadline() {
        let r = report(customers: 2, countries: 1, since: "2016-06-21")
        let text = ReportRenderer.text(r)
        #expect(text.hasPrefix(ReportRenderer.headline(r) + "\n"))
        #expect(text.contains("APT28, APT29"))
    }

    @Test func jsonEscapesControlCharacters() {
        #expect(JSONValue.string("a\u{1}b\n").serialized() == #""a\u0001b\n""#)
        #expect(JSONValue.array([.int(1), .null, .bool(true)]).serialized() == "[1,null,true]")
    }

    func richReport() -> NationStateReport {
        var r = report(customers: 2, countries: 2, since: "2016-06-21")
        r.byActorCountry[0].actors = ["<script>alert(1)</script>", "APT|29"]
        r.byVictimCountry = [.init(country: CountryCode("DE")!, customers: 1), .init(country: CountryCode("FR")!, customers: 1)]
        r.sightingsPerWeek = [.init(weekStart: Timestamp(parsing: "2016-06-20")!, sightings: 3),
                              .init(weekStart: Timestamp(parsing: "2016-07-04")!, sightings: 5)]
        return r
    }

    @Test func markdownLeadsWithTheHeadlineAndEscapesCells() {
        let r = richReport()
        let md = ReportRenderer.markdown(r)
        #expect(md.hasPrefix("# " + ReportRenderer.headline(r) + "\n"))
        #expect(md.contains("APT\\|29"))
        #expect(md.contains("| 2016-07-04 | 5 |"))
        #expect(md.contains("| DE | 1 |"))
    }

    @Test func htmlIsOneSelfContainedFileWithCharts() {
        let r = richReport()
        let html = ReportRenderer.html(r)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<h1>" + ReportRenderer.headline(r) + "</h1>"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 3)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        // Nothing to fetch: no external references, no script.
        #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("@import"))
        let empty = ReportRenderer.html(report(customers: 0, countries: 0, first: nil))
        #expect(empty.contains("No data in the window."))
    }
}
