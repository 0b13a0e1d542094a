/// A point in time: nanoseconds since the Unix epoch, UTC.
///
/// Nanoseconds because pcap files may carry them; `Int64` reaches to 2262.
/// All formatting and parsing is UTC (SPEC §5: dates are RFC 3339 or
/// `YYYY-MM-DD`, UTC) and needs no Foundation.
package struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var nanoseconds: Int64

    package init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    package init(seconds: Int64, nanoseconds: Int64 = 0) {
        self.nanoseconds = seconds &* 1_000_000_000 &+ nanoseconds
    }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    package var seconds: Int64 { floorDiv(nanoseconds, 1_000_000_000) }

    /// Years whose every instant fits in Int64 nanoseconds.
    package static let representableYears: ClosedRange<Int64> = 1678...2261
    /// Stand-ins for dates beyond the representable range ("never expires": 9999-12-31).
    package static let distantFuture = Timestamp(nanoseconds: .max)
    package static let distantPast = Timestamp(nanoseconds: .min)

    package var description: String { rfc3339 }

    // MARK: Civil calendar (proleptic Gregorian), after Howard Hinnant's algorithms.

    /// Days since 1970-01-01 for a civil date.
    package static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Civil date for days since 1970-01-01.
    package static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    package struct Components: Equatable, Sendable {
        package var year, month, day, hour, minute, second: Int64
        package var nanosecond: Int64
    }

    package var components: Components {
        let secs = seconds
        let nanos = nanoseconds - secs * 1_000_000_000
        let days = floorDiv(secs, 86_400)
        let secOfDay = secs - days * 86_400
        let (y, m, d) = Timestamp.civilFromDays(days)
        return Components(
            year: y, month: m, day: d, hour: secOfDay / 3600, minute: (secOfDay % 3600) / 60,
            second: secOfDay % 60, nanosecond: nanos)
    }

    /// RFC 3339 in UTC: `2016-06-21T08:30:00Z`, with a fraction only when
    /// non-zero (trailing zeros trimmed).
    package var rfc3339: String {
        let c = components
        var s = "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
        if c.nanosecond != 0 {
            var frac = pad(c.nanosecond, 9)
            while frac.hasSuffix("0") { frac.removeLast() }
            s += "." + frac
        }
        return s + "Z"
    }

    /// RFC 3339 with exactly three fractional digits (truncated), as STIX
    /// asks for `created` and `modified`.
    package var rfc3339Milliseconds: String {
        let c = components
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))."
            + pad(c.nanosecond / 1_000_000, 3) + "Z"
    }

    /// `YYYY-MM-DD` of the UTC day.
    package var isoDate: String {
        let c = components
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    private static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ]

    /// `21 June 2016`, as the headline prints it.
    package var longDate: String {
        let c = components
        return "\(c.day) \(Timestamp.monthNames[Int(c.month) - 1]) \(c.year)"
    }

    // MARK: Parsing

    /// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`2016-06-21T08:30:00Z`,
    /// `...T08:30:00.5+02:00`; a space is accepted for `T`). `nil` if invalid.
    package init?(parsing text: String) {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + count) {
                let c = b[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int64(c - 0x30)
            }
            return v
        }
        guard b.count >= 10, b[4] == 0x2D, b[7] == 0x2D,
            let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
            (1...12).contains(month), day >= 1, day <= Timestamp.daysIn(month: month, year: year)
        else { return nil }
        // Dates that Int64 nanoseconds cannot hold become the open ends of time
        // (intel writes 9999-12-31 for "never expires"), never a wrapped value.
        if year > Timestamp.representableYears.upperBound {
            self = Timestamp.distantFuture
            guard Timestamp.syntaxIsValid(b) else { return nil }
            return
        }
        if year < Timestamp.representableYears.lowerBound {
            self = Timestamp.distantPast
            guard Timestamp.syntaxIsValid(b) else { return nil }
            return
        }
        var seconds = Timestamp.daysFromCivil(year: year, month: month, day: day) * 86_400
        var nanos: Int64 = 0
        if b.count == 10 {
            self.init(seconds: seconds)
            return
        }
        guard b.count >= 20, b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20,
            b[13] == 0x3A, b[16] == 0x3A,
            let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2),
            hour < 24, minute < 60, second < 61
        else { return nil }
        seconds += hour * 3600 + minute * 60 + min(second, 59)
        var i = 19
        if b[i] == 0x2E {  // fraction
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 9 { nanos = nanos * 10 + Int64(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 9) { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        switch b[i] {
        case 0x5A, 0x7A:  // Z
            guard i + 1 == b.count else { return nil }
        case 0x2B, 0x2D:  // +hh:mm / -hh:mm
            guard i + 6 == b.count, b[i + 3] == 0x3A, let oh = num(i + 1, 2), let om = num(i + 4, 2),
                oh < 24, om < 60
            else { return nil }
            let offset = oh * 3600 + om * 60
            seconds += b[i] == 0x2B ? -offset : offset
        default:
            return nil
        }
        self.init(seconds: seconds, nanoseconds: nanos)
    }

    /// Whether a stamp outside the representable years is otherwise well formed
    /// (checked by parsing it with the year replaced by 2000).
    private static func syntaxIsValid(_ b: [UInt8]) -> Bool {
        var copy = b
        copy.replaceSubrange(0..<4, with: Array("2000".utf8))
        // 2000 is a leap year, so 29 February stays valid.
        return Timestamp(parsing: String(decoding: copy, as: UTF8.self)) != nil
    }

    package static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// A half-open time window `[since, until)`; either end may be open.
package struct TimeWindow: Equatable, Sendable {
    package var since: Timestamp?
    package var until: Timestamp?

    package init(since: Timestamp? = nil, until: Timestamp? = nil) {
        self.since = since
        self.until = until
    }

    package func contains(_ t: Timestamp) -> Bool {
        if let since, t < since { return false }
        if let until, t >= until { return false }
        return true
    }
}

@inline(__always)
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
