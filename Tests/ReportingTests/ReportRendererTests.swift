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
        #expect(members.map(\.0) == ["window", "nation_state", "by_actor_country", "campaigns", "coverage", "headline"])
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
}
