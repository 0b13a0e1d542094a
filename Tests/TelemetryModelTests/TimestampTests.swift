import GenevaTestSupport
import Testing
import TelemetryModel

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2016-06-21", "2016-06-21T00:00:00Z"),
        ("2016-06-21T08:30:00Z", "2016-06-21T08:30:00Z"),
        ("2016-06-21t08:30:00z", "2016-06-21T08:30:00Z"),
        ("2016-06-21 08:30:00Z", "2016-06-21T08:30:00Z"),
        ("2016-06-21T08:30:00.5Z", "2016-06-21T08:30:00.5Z"),
        ("2016-06-21T08:30:00.123456789Z", "2016-06-21T08:30:00.123456789Z"),
        ("2016-06-21T10:30:00+02:00", "2016-06-21T08:30:00Z"),
        ("2016-06-21T00:30:00-01:00", "2016-06-21T01:30:00Z"),
        ("2024-02-29", "2024-02-29T00:00:00Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
    ])
    func parsesRFC3339AndDates(input: String, expected: String) throws {
        let t = try #require(Timestamp(parsing: input))
        #expect(t.rfc3339 == expected)
    }

    @Test(arguments: ["", "2016-6-21", "2016-13-01", "2023-02-29", "2016-06-21T08:30Z", "2016-06-21T25:00:00Z",
                      "2016-06-21T08:30:00", "2016-06-21T08:30:00+0200", "yesterday", "2016-06-21T08:30:00.Z"])
    func rejectsMalformedDates(input: String) {
        #expect(Timestamp(parsing: input) == nil)
    }

    @Test func civilConversionMatchesNaiveDayCounting() {
        // Oracle: walk day by day from 1970-01-01 and compare every date for 200 years.
        var year: Int64 = 1970, month: Int64 = 1, day: Int64 = 1
        for days in Int64(0)..<(200 * 366) {
            #expect(Timestamp.daysFromCivil(year: year, month: month, day: day) == days)
            let civil = Timestamp.civilFromDays(days)
            #expect(civil.year == year && civil.month == month && civil.day == day)
            day += 1
            if day > Timestamp.daysIn(month: month, year: year) {
                day = 1
                month += 1
                if month > 12 { month = 1; year += 1 }
            }
        }
    }

    @Test func longDateAndWindows() throws {
        let t = try #require(Timestamp(parsing: "2016-06-21T23:59:59Z"))
        #expect(t.longDate == "21 June 2016")
        #expect(t.isoDate == "2016-06-21")
        let w = TimeWindow(since: Timestamp(parsing: "2016-06-21"), until: Timestamp(parsing: "2016-06-22"))
        #expect(w.contains(t))
        #expect(!w.contains(Timestamp(parsing: "2016-06-22")!), "until is exclusive")
        #expect(w.contains(Timestamp(parsing: "2016-06-21")!), "since is inclusive")
        #expect(Timestamp(nanoseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999999Z")
    }
}

@Suite struct TimestampRangeTests {
    @Test func datesBeyondInt64NanosecondsBecomeTheOpenEnds() {
        #expect(Timestamp(parsing: "9999-12-31T23:59:59Z") == Timestamp.distantFuture, "'never expires' in intel")
        #expect(Timestamp(parsing: "0001-01-01") == Timestamp.distantPast)
        #expect(Timestamp(parsing: "2261-12-31T23:59:59Z")?.rfc3339 == "2261-12-31T23:59:59Z")
        #expect(Timestamp(parsing: "9999-02-30") == nil, "still validated")
        #expect(Timestamp(parsing: "9999-13-01") == nil)
    }
}
