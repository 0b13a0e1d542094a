import TelemetryModel
import WireParsing

/// Mail-server logs in, observables out: Postfix, Exim, Sendmail (syslog,
/// RFC 3164 or RFC 3339 stamps) and Exim's own mainlog and Exchange
/// message-tracking CSV, told apart line by line by content.
///
/// Streaming: ``feed(_:_:)`` takes chunks of any size; a line split across
/// chunks is joined (drip-feed tested). Lines longer than ``maxLineLength``
/// are counted and skipped. Events are assembled into messages by queue id
/// (``MessageAssembler``); each observable carries its message key and line
/// number. Nothing but the client address, sender and recipients is kept.
///
/// Each line goes through two steps: ``MailLineParser`` reads it on its own
/// (no state but a cache), into a ``ParsedLines`` batch; ``apply(_:base:_:)``
/// then takes the batch in line order through everything that depends on
/// earlier lines (line numbers, messages, totals, Exchange's `#Fields:`
/// header). ``feed(_:_:)`` does both in turn; a file scan may parse the
/// next batch on another thread while this one is applied, with the same
/// result (``frame(_:_:)`` gives it the batches).
package struct MailLogDecoder: Sendable {
    /// Longest line parsed. Syslog daemons cut at 8 KiB by default and
    /// Postfix's own lines stay under 2 KiB; beyond 16 KiB it is not a log line.
    package static let maxLineLength = 16_384

    package let source: String
    /// The parser's clock (the sensor moves its reference as days pass).
    package var clock: LogClock {
        get { parser.clock }
        set { parser.clock = newValue }
    }
    package private(set) var anomalies = AnomalyCounts()
    package private(set) var lineCount = 0
    /// Lines recognised as Postfix, Exim, Sendmail or Exchange.
    package private(set) var mailLines = 0
    /// Syslog lines of other programs (dovecot, opendkim, CRON…), skipped.
    package private(set) var otherProgramLines = 0
    package private(set) var observableCount = 0
    package private(set) var firstTime: Timestamp?
    package private(set) var lastTime: Timestamp?

    /// A copy of the line parser, for a thread that parses batches ahead.
    package private(set) var parser: MailLineParser
    private var framer = LineFramer()
    private var batch = ParsedLines()
    private var exchange = ExchangeParser()
    private var exchangeValues: [String] = []
    package private(set) var assembler = MessageAssembler()
    /// pflogsumm-style totals of the Postfix lines seen, per syslog name
    /// (`postfix`, `postfix-incoming`, …: pflogsumm's `--syslog-name`).
    package var postfixCounts: [String: PostfixCounts] {
        Dictionary(uniqueKeysWithValues: zip(countNames, counts))
    }
    private var countNames: [String] = []
    private var counts: [PostfixCounts] = []
    private var countsIndex = -1
    private var lastSyslogName: [UInt8] = []

    package init(source: String, clock: LogClock) {
        self.source = source
        self.parser = MailLineParser(clock: clock)
    }

    /// Feeds the next chunk; `emit` receives observables in line order.
    package mutating func feed(_ chunk: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void) rethrows {
        try feed(chunk, wanted: { _, _ in true }, emit)
    }

    /// As ``feed(_:_:)``, but values for which `wanted` says no are counted
    /// and never become `Observable`s: a scan passes the IndicatorSet's byte
    /// pre-check so that only candidates pay for a `String`.
    package mutating func feed(
        _ chunk: ArraySlice<UInt8>, wanted: (Evidence, ArraySlice<UInt8>) -> Bool, _ emit: (Observable) throws -> Void
    ) rethrows {
        var scratch = batch
        batch = ParsedLines()
        var framer = self.framer
        self.framer = LineFramer()
        defer {
            batch = scratch
            self.framer = framer
        }
        try framer.frame(chunk) { region in
            scratch.removeAll()
            switch region {
            case .lines(let lines):
                parser.parseLines(lines, into: &scratch, wanted: wanted)
                try apply(scratch, base: lines, emit)
            case .joined(let line):
                parser.parseLine(line[...], origin: 0, into: &scratch, wanted: wanted)
                try apply(scratch, base: line[...], emit)
            case .tooLong:
                try apply(ParsedLines.tooLong, base: [], emit)
            }
        }
    }

    /// End of input: a last line without a newline is still a line.
    package mutating func finish(_ emit: (Observable) throws -> Void) rethrows {
        if let last = framer.finish() { try applyLast(last, emit) }
    }

    /// The last line of the input, without a newline (``LineFramer/finish()``).
    package mutating func applyLast(_ last: [UInt8], _ emit: (Observable) throws -> Void) rethrows {
        var one = ParsedLines()
        parser.parseLine(last[...], origin: 0, into: &one, wanted: { _, _ in true })
        try apply(one, base: last[...], emit)
    }

    /// Takes a parsed batch through everything that depends on earlier
    /// lines, in line order. `base` is the buffer the lines were parsed from
    /// (their ranges index it).
    package mutating func apply(_ parsed: ParsedLines, base: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void) rethrows {
        for i in parsed.lines.indices { try apply(parsed.lines[i], values: parsed.values, base: base, emit) }
    }

    @inline(__always)
    private mutating func apply(
        _ line: ParsedLine, values: [ParsedLines.Value], base: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void
    ) rethrows {
        lineCount += 1
        func bytes(_ span: Span) -> ArraySlice<UInt8> { span.bytes(in: base) }
        var exchangeExtra: [(Evidence, String)] = []
        var queueID = bytes(line.queueID)
        switch line.kind {
        case .ignored:
            return
        case .fieldsHeader:
            exchange.header(bytes(line.text))
            return
        case .anomaly(let problem):
            anomalies.record(problem.anomaly)
            return
        case .otherProgram:
            otherProgramLines += 1  // dovecot, opendkim, amavis…: not mail-server lines, not damage
            return
        case .exchange:
            guard exchange.parse(bytes(line.text), values: &exchangeValues) else {
                anomalies.record(Anomaly("maillog.exchange_bad_row"))
                return
            }
            (exchangeExtra, queueID) = exchangeFields()
        case .syslog, .exim:
            break
        }
        mailLines += 1
        let time = line.time
        if firstTime == nil || time < firstTime! { firstTime = time }
        if lastTime == nil || time > lastTime! { lastTime = time }

        var generation = 0
        let queueKey = MessageAssembler.QueueKey(queueID)
        if !queueID.isEmpty {
            generation = assembler.note(queueKey, time: time, opens: line.opens, closes: line.closes)
        }
        // The key string is built only for lines that yield something.
        func messageKey() -> String {
            guard !queueID.isEmpty else {
                switch line.kind {
                case .exim: return "exim"
                case .syslog:
                    var key = bytes(line.program)
                    if !line.pid.isEmpty { key += [UInt8(ascii: "[")] + bytes(line.pid) + [UInt8(ascii: "]")] }
                    return ByteText.string(key)
                default: return ""
                }
            }
            let text = ByteText.string(queueID)
            return generation <= 1 ? text : text + "#\(generation)"
        }
        let facts = line.postfix
        if line.kind == .syslog, facts.received || facts.queued || facts.rejected || facts.status != nil {
            let program = bytes(line.program)
            let syslogName = program.prefix(while: { $0 != UInt8(ascii: "/") })
            if ByteText.find("postfix", in: syslogName) != nil {
                if countsIndex < 0 || !lastSyslogName.elementsEqual(syslogName) {
                    lastSyslogName = Array(syslogName)
                    let name = ByteText.string(syslogName)
                    if let existing = countNames.firstIndex(of: name) {
                        countsIndex = existing
                    } else {
                        countNames.append(name)
                        counts.append(PostfixCounts())
                        countsIndex = counts.count - 1
                    }
                }
                counts[countsIndex].add(
                    facts, sender: bytes(line.queuedSender), queueID: queueKey,
                    messageKey: facts.status == .deferred ? messageKey() : "")
            }
        }
        observableCount += Int(line.observables) + exchangeExtra.count
        guard !line.values.isEmpty || !exchangeExtra.isEmpty else { return }
        let offset = Int64(lineCount)
        let key = messageKey()
        for value in values[Int(line.values.start)..<Int(line.values.start + line.values.count)] {
            try emit(Observable(time: time, evidence: value.evidence, value: ByteText.string(bytes(value.span)), key: key, offset: offset))
        }
        for (evidence, value) in exchangeExtra {
            try emit(Observable(time: time, evidence: evidence, value: value, key: key, offset: offset))
        }
    }

    /// An Exchange row's values (`String`s already: CSV fields) and its message id.
    private func exchangeFields() -> ([(Evidence, String)], ArraySlice<UInt8>) {
        var out: [(Evidence, String)] = []
        var seen = Set<String>()
        for name in ["client-ip", "original-client-ip"] {
            if let ip = exchange.field(name, in: exchangeValues), IPAddress(ip) != nil, seen.insert("c" + ip).inserted {
                out.append((.maillogClient, ip))
            }
        }
        for name in ["sender-address", "return-path"] {
            if let s = exchange.field(name, in: exchangeValues), s.contains("@"), seen.insert("s" + s.lowercased()).inserted {
                out.append((.maillogSender, s))
            }
        }
        if let r = exchange.field("recipient-address", in: exchangeValues) {
            for part in r.split(separator: ";") where part.contains("@") {
                if seen.insert("r" + part.lowercased()).inserted { out.append((.maillogRecipient, String(part))) }
            }
        }
        let id = exchange.field("message-id", in: exchangeValues).map { Array($0.utf8)[...] } ?? []
        return (out, id)
    }
}

/// Cuts a stream of chunks into runs of complete lines, keeping a partial
/// last line until its newline arrives.
package struct LineFramer: Sendable {
    private var pending: [UInt8] = []
    private var discarding = false

    package init() {}

    /// What ``frame(_:_:)`` hands on, in input order.
    package enum Framed {
        /// Complete lines, each ended by a newline (the last one included).
        case lines(ArraySlice<UInt8>)
        /// One line that straddled chunks, joined (no newline).
        case joined([UInt8])
        /// A line longer than ``MailLogDecoder/maxLineLength`` began: count it (once) and skip it.
        case tooLong
    }

    package mutating func frame(_ chunk: ArraySlice<UInt8>, _ body: (Framed) throws -> Void) rethrows {
        var start = chunk.startIndex
        if !pending.isEmpty || discarding, let newline = ByteText.firstNewline(in: chunk, from: start) {
            if discarding {
                discarding = false
            } else {
                pending.append(contentsOf: chunk[start..<newline])
                try body(.joined(pending))
            }
            pending.removeAll(keepingCapacity: true)
            start = newline + 1
        }
        guard !discarding else { return }
        var end = chunk.endIndex
        while end > start, chunk[end - 1] != 0x0A { end -= 1 }
        if end > start, pending.isEmpty { try body(.lines(chunk[start..<end])) }
        pending.append(contentsOf: chunk[end...])
        if pending.count > MailLogDecoder.maxLineLength {
            try body(.tooLong)
            discarding = true
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// End of input: the last line if it had no newline.
    package mutating func finish() -> [UInt8]? {
        defer {
            pending = []
            discarding = false
        }
        return pending.isEmpty || discarding ? nil : pending
    }
}

/// Lines parsed, waiting to be applied in order (``MailLogDecoder/apply(_:base:_:)``).
/// Everything is an index range into the buffer the lines came from: a batch
/// holds no reference, so it costs no reference counting and may be handed
/// from a parsing thread to the applying one.
package struct ParsedLines: Sendable {
    package struct Value: Sendable {
        var evidence: Evidence
        var span: Span
    }

    var lines: [ParsedLine] = []
    /// The values that passed `wanted`, in line order.
    var values: [Value] = []

    package init() {}

    package mutating func removeAll() {
        lines.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    /// The batch of one line too long to parse.
    package static let tooLong: ParsedLines = {
        var b = ParsedLines()
        b.lines.append(ParsedLine(kind: .anomaly(.tooLong)))
        return b
    }()
}

/// Where a value lies in a parsed batch's buffer: offsets from the buffer's
/// start index (8 bytes instead of a 16-byte `Range`, a 48-byte `ArraySlice`).
struct Span: Sendable {
    var start: UInt32 = 0
    var count: UInt32 = 0

    /// `slice` as a span of the buffer starting at `origin` (batches are at
    /// most a chunk, far below 4 GiB).
    init(_ slice: ArraySlice<UInt8>, origin: Int) {
        guard !slice.isEmpty else { return }
        start = UInt32(slice.startIndex - origin)
        count = UInt32(slice.count)
    }

    init(_ range: Range<Int>, origin: Int) {
        guard !range.isEmpty else { return }
        start = UInt32(range.lowerBound - origin)
        count = UInt32(range.count)
    }

    init(start: Int, count: Int) {
        self.start = UInt32(start)
        self.count = UInt32(count)
    }

    init() {}

    var isEmpty: Bool { count == 0 }

    /// The bytes of `base` it names (empty spans are empty, wherever `base` starts).
    func bytes(in base: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard count > 0 else { return [] }
        let from = base.startIndex + Int(start)
        return base[from..<(from + Int(count))]
    }
}

/// What one line says, as far as it can be told from the line alone.
/// Kept small (it is copied into and out of every batch).
struct ParsedLine: Sendable {
    enum Problem: UInt8, Sendable {
        case tooLong, binary, unparsed

        var anomaly: Anomaly {
            switch self {
            case .tooLong: Anomaly("maillog.line_too_long")
            case .binary: Anomaly("maillog.binary_line")
            case .unparsed: Anomaly("maillog.unparsed_line")
            }
        }
    }

    enum Kind: Sendable, Equatable {
        /// Empty lines and `#` comments (fail2ban's failJSON, Exchange's `#Software`).
        case ignored
        /// Exchange's `#Fields:`: read when applied, since it changes how later rows read.
        case fieldsHeader
        case anomaly(Problem)
        /// A syslog line of another program.
        case otherProgram
        /// Postfix, Sendmail or Exim through syslog.
        case syslog
        /// Exim's own mainlog (or syslog without a stamp of its own).
        case exim
        /// An Exchange row: its CSV fields are read when applied (they depend on `#Fields:`).
        case exchange
    }

    var kind: Kind
    var opens = false
    var closes = false
    var received = false
    var queued = false
    var rejected = false
    var status: PostfixFacts.Status?
    /// Observables of the line (those `wanted` turned down included).
    var observables: UInt16 = 0
    var time = Timestamp(nanoseconds: 0)
    /// The whole line (Exchange rows and headers).
    var text = Span()
    /// Syslog program and pid (`postfix/smtpd`, `1234`).
    var program = Span()
    var pid = Span()
    var queueID = Span()
    /// qmgr's `from=<…>, size=` sender (pflogsumm's per-sender count).
    var queuedSender = Span()
    /// The line's values: indices into ``ParsedLines/values``.
    var values = Span()

    init(kind: Kind, time: Timestamp = Timestamp(nanoseconds: 0), text: Span = Span()) {
        self.kind = kind
        self.time = time
        self.text = text
    }

    var postfix: PostfixFacts {
        var facts = PostfixFacts()
        facts.received = received
        facts.queued = queued
        facts.rejected = rejected
        facts.status = status
        return facts
    }
}

/// Reads one line at a time, on its own: the part of decoding that needs no
/// earlier line, so batches of lines may be parsed on several threads.
package struct MailLineParser: Sendable {
    package var clock: LogClock
    private var stampCache = StampCache()
    private var event = MailEvent()

    package init(clock: LogClock) {
        self.clock = clock
    }

    /// Parses every line of `lines` (complete lines, each ended by a newline;
    /// text after the last newline is taken as a line too).
    package mutating func parseLines(
        _ lines: ArraySlice<UInt8>, into out: inout ParsedLines, wanted: (Evidence, ArraySlice<UInt8>) -> Bool
    ) {
        var start = lines.startIndex
        while start < lines.endIndex {
            let end = ByteText.firstNewline(in: lines, from: start) ?? lines.endIndex
            parseLine(lines[start..<end], origin: lines.startIndex, into: &out, wanted: wanted)
            start = end + 1
        }
    }

    /// Parses one line (without its newline) and appends exactly one
    /// ``ParsedLine``, its spans counted from `origin` (the start index of
    /// the buffer the batch will be applied with).
    package mutating func parseLine(
        _ raw: ArraySlice<UInt8>, origin: Int, into out: inout ParsedLines, wanted: (Evidence, ArraySlice<UInt8>) -> Bool
    ) {
        guard raw.count <= MailLogDecoder.maxLineLength else {
            out.lines.append(ParsedLine(kind: .anomaly(.tooLong)))
            return
        }
        var text = raw
        if text.last == 0x0D { text = text.dropLast() }
        let whole = Span(text, origin: origin)
        guard let first = text.first else {
            out.lines.append(ParsedLine(kind: .ignored))
            return
        }
        if first == UInt8(ascii: "#") {
            out.lines.append(ParsedLine(kind: ByteText.hasPrefix(text, "#Fields:") ? .fieldsHeader : .ignored, text: whole))
            return
        }
        if ByteText.containsNUL(text) {
            out.lines.append(ParsedLine(kind: .anomaly(.binary)))
            return
        }
        event.reset()
        var line: ParsedLine
        let startsWithDigit = first >= 0x30 && first <= 0x39
        if startsWithDigit, text.count > 19, text[text.startIndex + 4] == 0x2D, let (t, end) = clock.iso(text), end < text.endIndex, text[end] == 0x2C {
            // Exchange: `2024-01-25T15:16:09.843Z,10.0.0.1,…`; the row is read when applied.
            out.lines.append(ParsedLine(kind: .exchange, time: t, text: whole))
            return
        } else if startsWithDigit, text.count > 19, text[text.startIndex + 10] == 0x20, let (t, end) = clock.iso(text), end < text.endIndex, text[end] == 0x20 {
            EximParser.parse(text[(end + 1)...], into: &event)
            line = ParsedLine(kind: .exim, time: t)
        } else if let syslog = SyslogLine(text, clock: clock, cache: &stampCache) {
            let program = text[syslog.program]
            let message = text[syslog.message]
            if ByteText.find("postfix", in: program) != nil {
                PostfixParser.parse(program, message, into: &event)
            } else if ByteText.hasPrefix(program, "exim") {
                // Exim via syslog may repeat its own stamp inside the message.
                var message = message
                if let (_, end) = clock.iso(message), end < message.endIndex, message[end] == 0x20 { message = message[(end + 1)...] }
                EximParser.parse(message, into: &event)
            } else if ByteText.hasPrefix(program, "sendmail") || ByteText.hasPrefix(program, "sm-") {
                SendmailParser.parse(message, into: &event)
            } else {
                out.lines.append(ParsedLine(kind: .otherProgram))
                return
            }
            line = ParsedLine(kind: .syslog, time: syslog.time)
            line.program = Span(syslog.program, origin: origin)
            line.pid = Span(syslog.pid, origin: origin)
        } else if let eximStart = ByteText.find("exim", in: text), let colon = ByteText.find("]: ", in: text, from: eximStart),
            let (t, end) = clock.iso(text[(colon + 3)...]), end < text.endIndex, text[end] == 0x20
        {
            // `host exim[pid]: 2021-07-17 23:20:49 …`: syslog without its own stamp.
            EximParser.parse(text[(end + 1)...], into: &event)
            line = ParsedLine(kind: .exim, time: t)
        } else {
            out.lines.append(ParsedLine(kind: .anomaly(.unparsed)))
            return
        }
        line.queueID = Span(event.queueID, origin: origin)
        line.opens = event.opens
        line.closes = event.closes
        let facts = event.postfix
        line.received = facts.received
        line.queued = facts.queued
        line.rejected = facts.rejected
        line.status = facts.status
        line.queuedSender = Span(facts.queuedSender, origin: origin)
        let firstValue = out.values.count
        func add(_ evidence: Evidence, _ value: ArraySlice<UInt8>) {
            line.observables &+= 1
            if wanted(evidence, value) { out.values.append(ParsedLines.Value(evidence: evidence, span: Span(value, origin: origin))) }
        }
        for client in event.clients { add(.maillogClient, client) }
        for sender in event.senders where sender.contains(UInt8(ascii: "@")) { add(.maillogSender, sender) }
        for recipient in event.recipients where recipient.contains(UInt8(ascii: "@")) { add(.maillogRecipient, recipient) }
        line.values = Span(start: firstValue, count: out.values.count - firstValue)
        out.lines.append(line)
    }
}

/// Groups a log's events into messages by queue id, with bounded memory.
///
/// A queue id names a new message when an arrival line (`client=`, `<=`,
/// `from=`) opens it after its message ended (`removed`, `Completed`,
/// `done`) or later than the open one's last line, or after
/// ``maxIdleSeconds`` of silence:
/// Postfix reuses queue ids, and logs are not always in time order. The
/// message key is the queue id, with `#2`, `#3`… for later messages under
/// the same id.
package struct MessageAssembler: Sendable {
    /// Messages tracked at once (open ones, and ended ones kept to recognise a
    /// reused id); beyond it the first-seen are forgotten, open ones counted as evicted.
    /// A busy relay has a few thousand messages in flight; 100k bounds memory
    /// to a few MB even for hostile logs that never close a queue id.
    package static let maxOpenMessages = 100_000
    /// A queue id silent for longer names a new message when it reappears.
    package static let maxIdleSeconds: Int64 = 86_400

    private struct Message {
        var generation: Int
        var lastSeen: Timestamp
        var open: Bool
    }

    /// A queue id packed into three words (ids are at most 24 bytes; longer
    /// ones, such as Exchange message ids, are represented by a 64-bit hash),
    /// so tracking a message allocates nothing.
    package struct QueueKey: Hashable, Sendable {
        var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0
        var length: UInt8 = 0

        /// Every word goes through the seeded hasher: queue and message ids come
        /// from the network (Exchange message ids from the sender's header), so a
        /// pre-mixed word would let an attacker forge colliding keys. (The
        /// tables of this module use ``QueueTable``'s own keyed hash.)
        package func hash(into hasher: inout Hasher) {
            hasher.combine(a)
            hasher.combine(b)
            hasher.combine(c)
            hasher.combine(length)
        }

        package init(_ bytes: ArraySlice<UInt8>) {
            if bytes.count <= 24 {
                length = UInt8(bytes.count)
                (a, b, c) = bytes.withUnsafeBufferPointer { buffer in
                    // Little-endian words of bytes 0..<8, 8..<16, 16..<24, zero-padded
                    // (the layout a 24-byte copy would give; no call to memmove).
                    func word(_ at: Int) -> UInt64 {
                        let left = buffer.count - at
                        if left >= 8 {
                            // Invariant: at + 8 <= buffer.count.
                            return UnsafeRawPointer(buffer.baseAddress! + at).loadUnaligned(as: UInt64.self).littleEndian
                        }
                        var w: UInt64 = 0
                        var i = 0
                        while i < left {
                            w |= UInt64(buffer[at + i]) << (8 * i)
                            i += 1
                        }
                        return w
                    }
                    return (word(0), word(8), word(16))
                }
            } else {
                length = 255
                var h: UInt64 = 0xCBF2_9CE4_8422_2325
                for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                a = h
                b = UInt64(bytes.count)
            }
        }
    }

    private var messages = QueueTable<Message>()
    private var order: [QueueKey] = []
    private var orderStart = 0
    /// Open messages evicted before their end was seen.
    package private(set) var evicted = 0
    package private(set) var messagesSeen = 0

    package init() {}

    /// Messages tracked (open, and recently ended ones kept for id-reuse detection).
    package var openCount: Int { messages.count }

    /// Notes a line of the message under `queueID`; returns its generation
    /// (1 for the first message under the id, 2 for the next…).
    mutating func note(_ id: QueueKey, time: Timestamp, opens: Bool, closes: Bool) -> Int {
        var generation = 0
        var started = false
        let isNew = messages.update(id) { known in
            var message: Message
            if var known {
                // Seconds first: far-apart hostile stamps must not overflow the subtraction.
                let idle = time.nanoseconds / 1_000_000_000 - known.lastSeen.nanoseconds / 1_000_000_000
                // A new arrival under a used id is a new message; so is an id back
                // after a long silence. Late lines after the end (a delivery logged
                // after `done`) still belong to the message they name.
                if (opens && (!known.open || idle > 0)) || abs(idle) > MessageAssembler.maxIdleSeconds {
                    known = Message(generation: known.generation + 1, lastSeen: time, open: true)
                    started = true
                }
                message = known
            } else {
                message = Message(generation: 1, lastSeen: time, open: true)
                started = true
            }
            message.lastSeen = time
            if closes { message.open = false }
            generation = message.generation
            return message
        }
        if started { messagesSeen += 1 }
        if isNew {
            order.append(id)
            if messages.count > MessageAssembler.maxOpenMessages { evictOldest() }
        }
        return generation
    }

    private mutating func evictOldest() {
        while orderStart < order.count, messages.count > MessageAssembler.maxOpenMessages {
            let id = order[orderStart]
            orderStart += 1
            // Forgetting an ended message loses only its reuse count; an open one is an eviction.
            if let gone = messages.remove(id), gone.open { evicted += 1 }
        }
        if orderStart > 4096, orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
