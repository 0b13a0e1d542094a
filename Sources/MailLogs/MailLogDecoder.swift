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
package struct MailLogDecoder: Sendable {
    /// Longest line parsed. Syslog daemons cut at 8 KiB by default and
    /// Postfix's own lines stay under 2 KiB; beyond 16 KiB it is not a log line.
    package static let maxLineLength = 16_384

    package let source: String
    package var clock: LogClock
    package private(set) var anomalies = AnomalyCounts()
    package private(set) var lineCount = 0
    /// Lines recognised as Postfix, Exim, Sendmail or Exchange.
    package private(set) var mailLines = 0
    /// Syslog lines of other programs (dovecot, opendkim, CRON…), skipped.
    package private(set) var otherProgramLines = 0
    package private(set) var observableCount = 0
    package private(set) var firstTime: Timestamp?
    package private(set) var lastTime: Timestamp?
    package private(set) var bytesConsumed: Int64 = 0

    private var pending: [UInt8] = []
    private var discarding = false
    private var event = MailEvent()
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
    private var stampCache = StampCache()

    package init(source: String, clock: LogClock) {
        self.source = source
        self.clock = clock
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
        bytesConsumed += Int64(chunk.count)
        var start = chunk.startIndex
        while let newline = ByteText.firstNewline(in: chunk, from: start) {
            if discarding {
                discarding = false
                pending.removeAll(keepingCapacity: true)
            } else if pending.isEmpty {
                if newline - start > MailLogDecoder.maxLineLength { tooLong() } else { try line(chunk[start..<newline], wanted, emit) }
            } else {
                pending.append(contentsOf: chunk[start..<newline])
                let joined = pending
                pending.removeAll(keepingCapacity: true)
                if joined.count > MailLogDecoder.maxLineLength {
                    tooLong()
                } else {
                    try line(joined[...], wanted, emit)
                }
            }
            start = newline + 1
        }
        if !discarding {
            pending.append(contentsOf: chunk[start...])
            if pending.count > MailLogDecoder.maxLineLength {
                tooLong()
                discarding = true
                pending.removeAll(keepingCapacity: true)
            }
        }
    }

    /// End of input: a last line without a newline is still a line.
    package mutating func finish(_ emit: (Observable) throws -> Void) rethrows {
        if !pending.isEmpty, !discarding {
            let last = pending
            pending = []
            if last.count > MailLogDecoder.maxLineLength { tooLong() } else { try line(last[...], { _, _ in true }, emit) }
        }
        pending = []
        discarding = false
    }

    private mutating func tooLong() {
        lineCount += 1
        anomalies.record(Anomaly("maillog.line_too_long"))
    }

    private mutating func line(
        _ raw: ArraySlice<UInt8>, _ wanted: (Evidence, ArraySlice<UInt8>) -> Bool, _ emit: (Observable) throws -> Void
    ) rethrows {
        lineCount += 1
        var text = raw
        if text.last == 0x0D { text = text.dropLast() }
        guard let first = text.first else { return }
        if first == UInt8(ascii: "#") {
            if ByteText.hasPrefix(text, "#Fields:") { exchange.header(text) }
            return  // comments (fail2ban's failJSON, Exchange's #Software) are not log lines
        }
        if ByteText.containsNUL(text) {
            anomalies.record(Anomaly("maillog.binary_line"))
            return
        }
        event.reset()
        var time: Timestamp
        var program: ArraySlice<UInt8> = []
        // Built only when a line without a queue id yields an observable.
        var sessionProgram: ArraySlice<UInt8> = []
        var sessionPID: ArraySlice<UInt8> = []
        var sessionKey = ""
        let startsWithDigit = first >= 0x30 && first <= 0x39
        if startsWithDigit, text.count > 19, text[text.startIndex + 4] == 0x2D, let (t, end) = clock.iso(text), end < text.endIndex, text[end] == 0x2C {
            // Exchange: `2024-01-25T15:16:09.843Z,10.0.0.1,…`
            guard exchange.parse(text, values: &exchangeValues) else {
                anomalies.record(Anomaly("maillog.exchange_bad_row"))
                return
            }
            time = t
            fillExchange()
        } else if startsWithDigit, text.count > 19, text[text.startIndex + 10] == 0x20, let (t, end) = clock.iso(text), end < text.endIndex, text[end] == 0x20 {
            time = t
            EximParser.parse(text[(end + 1)...], into: &event)
            program = Array("exim".utf8)[...]
            sessionKey = "exim"
        } else if let syslog = SyslogLine(text, clock: clock, cache: &stampCache) {
            time = syslog.time
            program = syslog.program
            if ByteText.find("postfix", in: syslog.program) != nil {
                PostfixParser.parse(syslog.program, syslog.message, into: &event)
            } else if ByteText.hasPrefix(syslog.program, "exim") {
                // Exim via syslog may repeat its own stamp inside the message.
                var message = syslog.message
                if let (_, end) = clock.iso(message), end < message.endIndex, message[end] == 0x20 { message = message[(end + 1)...] }
                EximParser.parse(message, into: &event)
            } else if ByteText.hasPrefix(syslog.program, "sendmail") || ByteText.hasPrefix(syslog.program, "sm-") {
                SendmailParser.parse(syslog.message, into: &event)
            } else {
                otherProgramLines += 1  // dovecot, opendkim, amavis…: not mail-server lines, not damage
                return
            }
            if event.queueID.isEmpty {
                sessionProgram = syslog.program
                sessionPID = syslog.pid
            }
        } else if let eximStart = ByteText.find("exim", in: text), let colon = ByteText.find("]: ", in: text, from: eximStart),
            let (t, end) = clock.iso(text[(colon + 3)...]), end < text.endIndex, text[end] == 0x20
        {
            // `host exim[pid]: 2021-07-17 23:20:49 …`: syslog without its own stamp.
            time = t
            EximParser.parse(text[(end + 1)...], into: &event)
            program = Array("exim".utf8)[...]
            sessionKey = "exim"
        } else {
            anomalies.record(Anomaly("maillog.unparsed_line"))
            return
        }
        mailLines += 1
        if firstTime == nil || time < firstTime! { firstTime = time }
        if lastTime == nil || time > lastTime! { lastTime = time }

        var generation = 0
        if !event.queueID.isEmpty {
            generation = assembler.note(queueID: event.queueID, time: time, opens: event.opens, closes: event.closes)
        }
        // The key string is built only for lines that yield something.
        let queueID = event.queueID
        func messageKey() -> String {
            guard !queueID.isEmpty else {
                if sessionProgram.isEmpty { return sessionKey }
                var key = sessionProgram
                if !sessionPID.isEmpty { key += [UInt8(ascii: "[")] + sessionPID + [UInt8(ascii: "]")] }
                return ByteText.string(key)
            }
            let base = ByteText.string(queueID)
            return generation <= 1 ? base : base + "#\(generation)"
        }
        let postfixFacts = event.postfix
        if postfixFacts.received || postfixFacts.queued || postfixFacts.rejected || postfixFacts.status != nil {
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
                    postfixFacts, queueID: MessageAssembler.QueueKey(queueID), messageKey: postfixFacts.status == .deferred ? messageKey() : "")
            }
        }
        let hasExchangeValues = !(exchangeExtra?.isEmpty ?? true)
        guard !event.clients.isEmpty || !event.senders.isEmpty || !event.recipients.isEmpty || hasExchangeValues else {
            exchangeExtra = nil
            return
        }
        let offset = Int64(lineCount)
        var key: String? = nil
        for client in event.clients {
            observableCount += 1
            guard wanted(.maillogClient, client) else { continue }
            if key == nil { key = messageKey() }
            try emit(Observable(time: time, evidence: .maillogClient, value: ByteText.string(client), key: key!, offset: offset))
        }
        for sender in event.senders where sender.contains(UInt8(ascii: "@")) {
            observableCount += 1
            guard wanted(.maillogSender, sender) else { continue }
            if key == nil { key = messageKey() }
            try emit(Observable(time: time, evidence: .maillogSender, value: ByteText.string(sender), key: key!, offset: offset))
        }
        for recipient in event.recipients where recipient.contains(UInt8(ascii: "@")) {
            observableCount += 1
            guard wanted(.maillogRecipient, recipient) else { continue }
            if key == nil { key = messageKey() }
            try emit(Observable(time: time, evidence: .maillogRecipient, value: ByteText.string(recipient), key: key!, offset: offset))
        }
        if let extra = exchangeExtra {
            for (evidence, value) in extra {
                observableCount += 1
                if key == nil { key = messageKey() }
                try emit(Observable(time: time, evidence: evidence, value: value, key: key!, offset: offset))
            }
            exchangeExtra = nil
        }
    }

    /// Exchange values are `String`s already (CSV fields), kept aside here.
    private var exchangeExtra: [(Evidence, String)]?

    private mutating func fillExchange() {
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
        exchangeExtra = out
        if let id = exchange.field("message-id", in: exchangeValues) {
            event.queueID = Array(id.utf8)[...]
        }
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
        /// pre-mixed word would let an attacker forge colliding keys.
        package func hash(into hasher: inout Hasher) {
            hasher.combine(a)
            hasher.combine(b)
            hasher.combine(c)
            hasher.combine(length)
        }

        package init(_ bytes: ArraySlice<UInt8>) {
            if bytes.count <= 24 {
                length = UInt8(bytes.count)
                var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
                bytes.withUnsafeBytes { source in
                    withUnsafeMutableBytes(of: &words) { target in
                        // Invariant: source.count <= 24 == target.count.
                        target.copyMemory(from: source)
                    }
                }
                (a, b, c) = words
            } else {
                length = 255
                var h: UInt64 = 0xCBF2_9CE4_8422_2325
                for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
                a = h
                b = UInt64(bytes.count)
            }
        }
    }

    private var messages: [QueueKey: Message] = [:]
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
    mutating func note(queueID: ArraySlice<UInt8>, time: Timestamp, opens: Bool, closes: Bool) -> Int {
        let id = QueueKey(queueID)
        var message: Message
        let index = messages.index(forKey: id)
        if let index, case var known = messages.values[index] {
            // Seconds first: far-apart hostile stamps must not overflow the subtraction.
            let idle = time.nanoseconds / 1_000_000_000 - known.lastSeen.nanoseconds / 1_000_000_000
            // A new arrival under a used id is a new message; so is an id back
            // after a long silence. Late lines after the end (a delivery logged
            // after `done`) still belong to the message they name.
            if (opens && (!known.open || idle > 0)) || abs(idle) > MessageAssembler.maxIdleSeconds {
                known = Message(generation: known.generation + 1, lastSeen: time, open: true)
                messagesSeen += 1
            }
            message = known
        } else {
            message = Message(generation: 1, lastSeen: time, open: true)
            messagesSeen += 1
            order.append(id)
        }
        message.lastSeen = time
        if closes { message.open = false }
        if let index { messages.values[index] = message } else { messages[id] = message }
        if messages.count > MessageAssembler.maxOpenMessages { evictOldest() }
        return message.generation
    }

    private mutating func evictOldest() {
        while orderStart < order.count, messages.count > MessageAssembler.maxOpenMessages {
            let id = order[orderStart]
            orderStart += 1
            // Forgetting an ended message loses only its reuse count; an open one is an eviction.
            if let gone = messages.removeValue(forKey: id), gone.open { evicted += 1 }
        }
        if orderStart > 4096, orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
