import TelemetryModel

/// How to read the timestamps of a log: RFC 3164 lines carry no year and
/// Exim's mainlog no zone.
package struct LogClock: Sendable, Equatable {
    /// RFC 3164 stamps are placed in the twelve months up to this time (plus a
    /// day of slack for clock skew), which also handles the December →
    /// January roll-over: `Dec 31` read in January belongs to last year.
    package var reference: Timestamp {
        didSet { referenceYear = reference.components.year }
    }
    /// Offset of the logs' local time from UTC, in seconds (zone-less stamps).
    package var utcOffsetSeconds: Int64
    /// The reference's year, computed once rather than per line.
    private var referenceYear: Int64

    package init(reference: Timestamp, utcOffsetSeconds: Int64 = 0) {
        self.reference = reference
        self.utcOffsetSeconds = utcOffsetSeconds
        self.referenceYear = reference.components.year
    }

    static let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Mmm dd hh:mm:ss` (day space-padded or not); returns the time and the
    /// index after the stamp.
    package func rfc3164(_ line: ArraySlice<UInt8>) -> (Timestamp, Int)? {
        guard line.count >= 15 else { return nil }
        let s = line.startIndex
        var month: Int64 = 0
        for (i, name) in LogClock.months.enumerated() where ByteText.hasPrefix(line, name) {
            month = Int64(i + 1)
            break
        }
        guard month > 0, line[s + 3] == 0x20 else { return nil }
        var i = s + 4
        if line[i] == 0x20 { i += 1 }
        guard let day = LogClock.digits(line, &i, max: 2), (1...31).contains(day), i < line.endIndex, line[i] == 0x20 else { return nil }
        i += 1
        guard let (secondOfDay, end) = LogClock.clock(line, i) else { return nil }
        for year in [referenceYear, referenceYear - 1] {
            guard day <= Timestamp.daysIn(month: month, year: year) else { continue }
            let seconds = Timestamp.daysFromCivil(year: year, month: month, day: day) * 86_400 + secondOfDay - utcOffsetSeconds
            let t = Timestamp(seconds: seconds)
            if t.nanoseconds <= reference.nanoseconds &+ 86_400 * 1_000_000_000 || reference.nanoseconds > Int64.max - 86_400 * 1_000_000_000 {
                return (t, end)
            }
        }
        return nil
    }

    /// `YYYY-MM-DD`, then `T` or space, then `hh:mm:ss[.frac]`, then an
    /// optional `Z` / `±hh:mm` / ` ±hhmm` zone (zone-less stamps use
    /// ``utcOffsetSeconds``).
    package func iso(_ line: ArraySlice<UInt8>) -> (Timestamp, Int)? {
        var i = line.startIndex
        guard let year = LogClock.digits(line, &i, max: 4), i - line.startIndex == 4, i < line.endIndex, line[i] == 0x2D,
            Timestamp.representableYears.contains(year)
        else { return nil }
        i += 1
        guard let month = LogClock.digits(line, &i, max: 2), (1...12).contains(month), i < line.endIndex, line[i] == 0x2D else { return nil }
        i += 1
        guard let day = LogClock.digits(line, &i, max: 2), day >= 1, day <= Timestamp.daysIn(month: month, year: year),
            i < line.endIndex, line[i] == 0x54 || line[i] == 0x20
        else { return nil }
        i += 1
        guard let (secondOfDay, afterClock) = LogClock.clock(line, i) else { return nil }
        i = afterClock
        var nanos: Int64 = 0
        if i < line.endIndex, line[i] == 0x2E {
            i += 1
            var digits = 0
            while i < line.endIndex, line[i] >= 0x30, line[i] <= 0x39 {
                if digits < 9 { nanos = nanos * 10 + Int64(line[i] - 0x30); digits += 1 }
                i += 1
            }
            for _ in digits..<9 { nanos *= 10 }
        }
        var offset = utcOffsetSeconds
        if i < line.endIndex, line[i] == 0x5A {
            offset = 0
            i += 1
        } else if i + 5 < line.endIndex, line[i] == 0x2B || line[i] == 0x2D, line[i + 3] == 0x3A {
            var j = i + 1
            if let h = LogClock.digits(line, &j, max: 2), line[j] == 0x3A {
                j += 1
                if let m = LogClock.digits(line, &j, max: 2) {
                    offset = (h * 3600 + m * 60) * (line[i] == 0x2D ? -1 : 1)
                    i = j
                }
            }
        } else if i + 5 < line.endIndex, line[i] == 0x20, line[i + 1] == 0x2B || line[i + 1] == 0x2D {
            // Exim's ` +0100` when log_timezone is set.
            var j = i + 2
            if let hhmm = LogClock.digits(line, &j, max: 4), j - i == 6 {
                offset = (hhmm / 100 * 3600 + hhmm % 100 * 60) * (line[i + 1] == 0x2D ? -1 : 1)
                i = j
            }
        }
        let seconds = Timestamp.daysFromCivil(year: year, month: month, day: day) * 86_400 + secondOfDay - offset
        return (Timestamp(seconds: seconds, nanoseconds: nanos), i)
    }

    static func clock(_ line: ArraySlice<UInt8>, _ start: Int) -> (Int64, Int)? {
        var i = start
        guard let h = digits(line, &i, max: 2), h < 24, i < line.endIndex, line[i] == 0x3A else { return nil }
        i += 1
        guard let m = digits(line, &i, max: 2), m < 60, i < line.endIndex, line[i] == 0x3A else { return nil }
        i += 1
        guard let sec = digits(line, &i, max: 2), sec < 61 else { return nil }
        return (h * 3600 + m * 60 + min(sec, 59), i)
    }

    static func digits(_ line: ArraySlice<UInt8>, _ i: inout Int, max: Int) -> Int64? {
        var v: Int64 = 0
        var n = 0
        while i < line.endIndex, n < max, line[i] >= 0x30, line[i] <= 0x39 {
            v = v * 10 + Int64(line[i] - 0x30)
            i += 1
            n += 1
        }
        return n > 0 ? v : nil
    }
}

/// `TIMESTAMP HOST PROGRAM[PID]: MESSAGE` (RFC 3164 or an RFC 3339 stamp,
/// as rsyslog writes with high-precision timestamps).
struct SyslogLine {
    var time: Timestamp
    /// `postfix/smtpd`, `postfix-170.55.103.23/smtpd`, `sm-mta`, `exim`:
    /// index ranges into the line (no slices, so parsing a header retains nothing).
    var program: Range<Int>
    var pid: Range<Int>
    var message: Range<Int>

    init?(_ line: ArraySlice<UInt8>, clock: LogClock, cache: inout StampCache) {
        guard let first = line.first else { return nil }
        let stamp: (Timestamp, Int)?
        if first >= 0x30 && first <= 0x39 {
            stamp = clock.iso(line)
        } else if let cached = cache.lookup(line) {
            stamp = cached
        } else {
            stamp = clock.rfc3164(line)
            if let stamp { cache.store(line, stamp) }
        }
        guard let (time, afterStamp) = stamp, afterStamp < line.endIndex, line[afterStamp] == 0x20 else { return nil }
        self.time = time
        var i = afterStamp + 1
        // Some configurations log `<facility.priority>` before the host.
        if i < line.endIndex, line[i] == UInt8(ascii: "<"), let close = line[i...].firstIndex(of: UInt8(ascii: ">")),
            close + 1 < line.endIndex, line[close + 1] == 0x20
        {
            i = close + 2
        }
        // The host.
        while i < line.endIndex, line[i] != 0x20 { i += 1 }
        guard i < line.endIndex else { return nil }
        i += 1
        let programStart = i
        while i < line.endIndex, line[i] != 0x5B, line[i] != 0x3A, line[i] != 0x20 { i += 1 }
        program = programStart..<i
        guard !program.isEmpty, i < line.endIndex else { return nil }
        pid = i..<i
        if line[i] == 0x5B {
            let pidStart = i + 1
            guard let close = line[pidStart...].firstIndex(of: 0x5D) else { return nil }
            pid = pidStart..<close
            i = close + 1
        }
        guard i < line.endIndex, line[i] == 0x3A else { return nil }
        i += 1
        if i < line.endIndex, line[i] == 0x20 { i += 1 }
        message = i..<line.endIndex
    }
}

/// The last RFC 3164 stamp parsed: consecutive lines mostly share their
/// second, so the 15 bytes are compared instead of parsed again.
struct StampCache {
    private var bytes: (UInt64, UInt64) = (0, 0)
    private var result: (Timestamp, Int)?

    private static func key(_ line: ArraySlice<UInt8>) -> (UInt64, UInt64)? {
        guard line.count >= 16 else { return nil }
        return line.withUnsafeBufferPointer { b in
            // Invariant: 16 bytes are available (checked above).
            let raw = UnsafeRawPointer(b.baseAddress!)
            return (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) & 0x00FF_FFFF_FFFF_FFFF)
        }
    }

    func lookup(_ line: ArraySlice<UInt8>) -> (Timestamp, Int)? {
        guard let result, let k = StampCache.key(line), k == bytes else { return nil }
        // The stamp is 15 bytes ("Mmm dd hh:mm:ss"); its end index is relative to this line.
        return (result.0, line.startIndex + result.1)
    }

    mutating func store(_ line: ArraySlice<UInt8>, _ stamp: (Timestamp, Int)) {
        guard let k = StampCache.key(line), stamp.1 - line.startIndex == 15 else { result = nil; return }
        bytes = k
        result = (stamp.0, stamp.1 - line.startIndex)
    }
}
