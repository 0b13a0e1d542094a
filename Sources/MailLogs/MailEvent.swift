/// What one log line says about a message, as byte slices of the line.
/// Reused from line to line (cleared, capacity kept) so parsing allocates
/// nothing until a value is kept.
struct MailEvent {
    /// Queue id (Postfix, Sendmail), message id (Exim) or `message-id`
    /// (Exchange); empty for lines that belong to no message.
    var queueID: ArraySlice<UInt8> = []
    var clients: [ArraySlice<UInt8>] = []
    var senders: [ArraySlice<UInt8>] = []
    var recipients: [ArraySlice<UInt8>] = []
    /// The line starts a message (Postfix `client=`/`pickup`, Exim `<=`, Sendmail `from=`).
    var opens = false
    /// The line ends a message (Postfix `removed`, Exim `Completed`, Sendmail `done`).
    var closes = false
    /// Postfix bookkeeping for ``PostfixCounts`` (pflogsumm's grand totals).
    var postfix = PostfixFacts()

    mutating func reset() {
        queueID = []
        if !clients.isEmpty { clients.removeAll(keepingCapacity: true) }
        if !senders.isEmpty { senders.removeAll(keepingCapacity: true) }
        if !recipients.isEmpty { recipients.removeAll(keepingCapacity: true) }
        opens = false
        closes = false
        postfix = PostfixFacts()
    }

    var isEmpty: Bool { clients.isEmpty && senders.isEmpty && recipients.isEmpty && !opens && !closes }
}

/// Postfix (any syslog name containing `postfix`, so multi-instance names like
/// `postfix-170.55.103.23/smtpd` count): smtpd `connect from`, `client=`,
/// `NOQUEUE: reject: RCPT from … from=<…> to=<…>`, postscreen, SASL
/// warnings, cleanup, qmgr `from=`, smtp/lmtp/local/virtual/pipe `to=` and
/// `orig_to=`, bounce, pickup, `removed`.
enum PostfixParser {
    static func parse(_ program: ArraySlice<UInt8>, _ msg: ArraySlice<UInt8>, into e: inout MailEvent) {
        var rest = msg
        // `QUEUEID: ` — hex (classic) or long ids, or NOQUEUE.
        if let colon = msg.firstIndex(of: 0x3A), colon + 1 < msg.endIndex, msg[colon + 1] == 0x20,
            ByteText.isQueueID(msg[msg.startIndex..<colon], minLength: 5)
        {
            e.queueID = msg[msg.startIndex..<colon]
            rest = msg[(colon + 2)...]
            if ByteText.hasPrefix(e.queueID, "NOQUEUE") { e.queueID = [] }
        }
        scanFields(rest, into: &e)
        // `warning: hostname x does not resolve to address 192.0.2.44`
        if ByteText.hasPrefix(rest, "warning: hostname "), let a = ByteText.plainAddress(after: "to address ", in: rest) {
            e.clients.append(a)
        }
        let command = program.lastIndex(of: UInt8(ascii: "/")).map { program[($0 + 1)...] } ?? program
        let isQmgrOrPickup = ByteText.equals(command, "qmgr") || ByteText.equals(command, "pickup")
        if !e.queueID.isEmpty {
            if ByteText.hasPrefix(rest, "client=") || (isQmgrOrPickup && ByteText.hasPrefix(rest, "uid=")) { e.opens = true }
            if ByteText.hasPrefix(rest, "removed") && ByteText.equals(command, "qmgr") { e.closes = true }
            // pflogsumm counts a message received at smtpd's `client=` and pickup's `uid=`/`sender=`.
            if ((ByteText.equals(command, "smtpd") || ByteText.equals(command, "postscreen")) && ByteText.hasPrefix(rest, "client="))
                || (ByteText.equals(command, "pickup") && (ByteText.hasPrefix(rest, "uid=") || ByteText.hasPrefix(rest, "sender=")))
            {
                e.postfix.received = true
            }
            if ByteText.equals(command, "qmgr"), ByteText.hasPrefix(rest, "from=<"), ByteText.find(">, size=", in: rest) != nil,
                let sender = ByteText.angleValues(after: "from=<", in: rest).first
            {
                e.postfix.queuedSender = sender.startIndex..<sender.endIndex
                e.postfix.queued = true
            }

        }
        // pflogsumm's rejects: smtpd `QID: reject: …` (also NOQUEUE), cleanup
        // `(milter-)reject: header|body|END-OF-MESSAGE …`.
        if ByteText.equals(command, "smtpd") || ByteText.equals(command, "postscreen") {
            if let colon = msg.firstIndex(of: 0x3A), ByteText.hasPrefix(msg[colon...], ": reject: "),
                msg[msg.startIndex..<colon].allSatisfy({ ByteText.isHostByte($0) && $0 != 0x2E && $0 != 0x2D })
            {
                e.postfix.rejected = true
            } else if ByteText.hasPrefix(msg, "reject: ") {
                e.postfix.rejected = true
            }
        } else if ByteText.equals(command, "cleanup") {
            for marker: StaticString in ["reject: header ", "reject: body ", "reject: END-OF-MESSAGE "] where ByteText.find(marker, in: rest) != nil {
                e.postfix.rejected = true
            }
        }
    }

    /// One pass over the message: `from=<…>`, `to=<…>`, `orig_to=<…>`,
    /// `status=…` and bracketed client addresses (see ``clientBracket``).
    static func scanFields(_ rest: ArraySlice<UInt8>, into e: inout MailEvent) {
        let base = rest.startIndex
        rest.withUnsafeBufferPointer { b in
            let n = b.count
            // Compares the key `b[w..<w+literal.count]` with a literal.
            func key(_ w: Int, _ length: Int, _ literal: StaticString) -> Bool {
                guard length == literal.utf8CodeUnitCount else { return false }
                let l = literal.utf8Start
                for k in 0..<length where b[w + k] != l[k] { return false }
                return true
            }
            var i = 0
            // Invariant: 0 <= i < n at every read of b[i]; inner scans stop at n.
            while i < n {
                let c = b[i]
                if c == UInt8(ascii: "["), isClientBracket(rest, open: base + i) {
                    // Only a client bracket is jumped over: a '[' inside an echoed
                    // address (`<"x[y"@evil.example>`) must not hide the fields after it.
                    var j = i + 1
                    while j < n, b[j] != UInt8(ascii: "]") { j += 1 }
                    if j < n {
                        let inside = rest[(base + i + 1)..<(base + j)]
                        if looksLikeAddress(inside) {
                            e.clients.append(inside)
                            i = j + 1
                            continue
                        }
                    }
                }
                if c == UInt8(ascii: "="), i + 1 < n {
                    // The word before '=' (keys are at a word start: after ' ' or ',').
                    var w = i
                    while w > 0, b[w - 1] != 0x20, b[w - 1] != 0x2C { w -= 1 }
                    let length = i - w
                    if b[i + 1] == UInt8(ascii: "<") {
                        var j = i + 2
                        while j < n, b[j] != UInt8(ascii: ">") { j += 1 }
                        if j < n {
                            let value = rest[(base + i + 2)..<(base + j)]
                            if key(w, length, "from") {
                                if !value.isEmpty { e.senders.append(value) }
                            } else if key(w, length, "to") || key(w, length, "orig_to") {
                                if !value.isEmpty { e.recipients.append(value) }
                            }
                            i = j + 1
                            continue
                        }
                    } else if key(w, length, "status") {
                        var j = i + 1
                        while j < n, b[j] >= 0x61, b[j] <= 0x7A { j += 1 }
                        let word = rest[(base + i + 1)..<(base + j)]
                        if ByteText.equals(word, "sent") { e.postfix.status = .sent }
                        else if ByteText.equals(word, "deferred") { e.postfix.status = .deferred }
                        else if ByteText.equals(word, "bounced") { e.postfix.status = .bounced }
                    }
                }
                i += 1
            }
        }
    }

    static func isClientBracket(_ rest: ArraySlice<UInt8>, open: Int) -> Bool {
        var hostStart = open
        while hostStart > rest.startIndex, ByteText.isHostByte(rest[hostStart - 1]) { hostStart -= 1 }
        return ByteText.endsBefore(rest, hostStart, "client=") || ByteText.endsBefore(rest, hostStart, "from ")
            || ByteText.endsBefore(rest, hostStart, "warning: ") || ByteText.endsBefore(rest, hostStart, "for ")
            || ByteText.endsBefore(rest, hostStart, "NEW ") || ByteText.endsBefore(rest, hostStart, "OLD ")
            || ByteText.endsBefore(rest, hostStart, "PASS ") || ByteText.endsBefore(rest, hostStart, "reject: ")
    }

    static func looksLikeAddress(_ s: ArraySlice<UInt8>) -> Bool {
        !s.isEmpty && s.count <= 45 && s.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x3A || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
            && (s.contains(0x2E) || s.contains(0x3A))
    }
}

/// Exim mainlog lines (`2024-01-01 10:00:00 ID <= sender H=host (helo) [ip]`…),
/// plain or wrapped in syslog (`host exim[pid]: …`).
enum EximParser {
    static func parse(_ msg: ArraySlice<UInt8>, into e: inout MailEvent) {
        var rest = msg
        // Optional `[pid] ` when log_selector +pid is on.
        if rest.first == UInt8(ascii: "["), let close = rest.firstIndex(of: UInt8(ascii: "]")), close + 1 < rest.endIndex {
            rest = rest[(close + 1)...].drop(while: { $0 == 0x20 })
        }
        if let space = rest.firstIndex(of: 0x20), isMessageID(rest[rest.startIndex..<space]) {
            e.queueID = rest[rest.startIndex..<space]
            rest = rest[(space + 1)...]
        }
        let flag = rest.prefix(2)
        let afterFlag = rest.dropFirst(3)
        if !e.queueID.isEmpty, rest.count > 3, rest[rest.startIndex + 2] == 0x20 {
            switch (flag.first, flag.last) {
            case (UInt8(ascii: "<"), UInt8(ascii: "=")):
                e.opens = true
                let address = afterFlag.prefix(while: { $0 != 0x20 })
                if address.contains(UInt8(ascii: "@")) { e.senders.append(address) }
                hostAddresses(in: afterFlag, into: &e)
                return
            case (UInt8(ascii: "="), UInt8(ascii: ">")), (UInt8(ascii: "-"), UInt8(ascii: ">")), (UInt8(ascii: "*"), UInt8(ascii: "*")),
                 (UInt8(ascii: "="), UInt8(ascii: "=")), (UInt8(ascii: ">"), UInt8(ascii: ">")):
                let address = afterFlag.prefix(while: { $0 != 0x20 })
                if address.contains(UInt8(ascii: "@")) { e.recipients.append(address) }
                let tail = afterFlag.dropFirst(address.count).drop(while: { $0 == 0x20 })
                if tail.first == UInt8(ascii: "<"), let close = tail.firstIndex(of: UInt8(ascii: ">")) {
                    let original = tail[(tail.startIndex + 1)..<close]
                    if original.contains(UInt8(ascii: "@")) { e.recipients.append(original) }
                }
                return  // H= on a delivery is the destination, not a client
            default:
                break
            }
        }
        if ByteText.hasPrefix(rest, "Completed") { e.closes = true }
        // `no host name found for IP address 192.0.2.8`
        if ByteText.hasPrefix(rest, "no host name found"), let a = ByteText.plainAddress(after: "IP address ", in: rest) {
            e.clients.append(a)
            return
        }
        // Rejections and errors name the client with H=…[ip] or "for host [ip]".
        hostAddresses(in: rest, into: &e)
        if let f = ByteText.find("F=<", in: rest), let close = rest[(f + 3)...].firstIndex(of: UInt8(ascii: ">")) {
            let sender = rest[(f + 3)..<close]
            if !sender.isEmpty { e.senders.append(sender) }
        }
        if let r = ByteText.find("rejected RCPT <", in: rest), let close = rest[(r + 15)...].firstIndex(of: UInt8(ascii: ">")) {
            let recipient = rest[(r + 15)..<close]
            if !recipient.isEmpty { e.recipients.append(recipient) }
        }
    }

    /// `H=host (helo) [ip]`, `H=(helo) [ip]`, `H=[ip]`, `authenticator failed
    /// for host (helo) [ip]:port`, `SMTP call from host [ip]`. A bracket inside
    /// the parenthesised HELO (`([192.168.2.33])`) is what the client claimed,
    /// not its address.
    ///
    /// Which `H=` is Exim's own: client-controlled text follows it in
    /// rejections (`… rejected RCPT <"a H=[9.9.9.9]"@x>`), so the first one
    /// counts; but in `SMTP protocol/syntax error in "COMMAND" H=…` the quoted
    /// command comes first and may itself contain `H=`, so the last one does.
    static func hostAddresses(in rest: ArraySlice<UInt8>, into e: inout MailEvent) {
        let commandEchoedFirst = ByteText.find("error in \"", in: rest) != nil
        var anchor: Int? = nil
        if let r = ByteText.find("rejected EHLO from ", in: rest) ?? ByteText.find("rejected HELO from ", in: rest) {
            anchor = r + 14
        } else {
            var from = rest.startIndex
            while let h = ByteText.find("H=", in: rest, from: from) {
                if h == rest.startIndex || rest[h - 1] == 0x20 {
                    anchor = h
                    if !commandEchoedFirst { break }
                }
                from = h + 2
            }
        }
        if anchor == nil { anchor = ByteText.find("failed for ", in: rest) }
        if anchor == nil { anchor = ByteText.find("call from ", in: rest) }
        if anchor == nil { anchor = ByteText.find("connection from ", in: rest) }
        guard let start = anchor else { return }
        // The host clause ends at the next space-separated `X=` field.
        var clauseEnd = rest.endIndex
        var k = start + 2
        while k + 2 < rest.endIndex {
            if rest[k] == 0x20, rest[k + 2] == UInt8(ascii: "="), rest[k + 1] >= 0x41, rest[k + 1] <= 0x5A { clauseEnd = k; break }
            k += 1
        }
        guard let inside = ByteText.firstBracketOutsideParentheses(in: rest[start..<clauseEnd]),
            PostfixParser.looksLikeAddress(inside) || ByteText.hasPrefix(inside, "IPv6:")
        else { return }
        e.clients.append(ByteText.hasPrefix(inside, "IPv6:") ? inside.dropFirst(5) : inside)
    }

    /// `10HmaX-000000005vi-0000` (new format) or `1qB2cD-0001aB-Cd` (old).
    static func isMessageID(_ s: ArraySlice<UInt8>) -> Bool {
        let parts = s.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 6, (6...11).contains(parts[1].count), (2...4).contains(parts[2].count) else { return false }
        return s.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
    }
}

/// Sendmail (`sendmail`, `sm-mta`, `sm-msp-queue`, `sm-acceptingconnections`):
/// `QID: from=<a>, …, relay=host [ip]`, `QID: to=<a>,<b>, …, stat=Sent`,
/// `ruleset=check_rcpt, arg1=<x>, relay=host [ip], reject=…`,
/// `[ip] did not issue MAIL/EXPN/VRFY/ETRN`, `QID: done`.
enum SendmailParser {
    static func parse(_ msg: ArraySlice<UInt8>, into e: inout MailEvent) {
        var rest = msg
        if let colon = msg.firstIndex(of: 0x3A), colon + 1 < msg.endIndex, msg[colon + 1] == 0x20,
            ByteText.isQueueID(msg[msg.startIndex..<colon], minLength: 8)
        {
            e.queueID = msg[msg.startIndex..<colon]
            rest = msg[(colon + 2)...]
        }
        if ByteText.hasPrefix(rest, "from=") {
            e.opens = true
            for s in addressList(after: "from=", in: rest) { e.senders.append(s) }
            relay(in: rest, into: &e)  // on a from= line the relay is the sending client
        } else if ByteText.hasPrefix(rest, "to=") {
            for r in addressList(after: "to=", in: rest) { e.recipients.append(r) }
        } else if ByteText.hasPrefix(rest, "ruleset=") {
            if ByteText.find("arg1=", in: rest) != nil {
                let values = addressList(after: "arg1=", in: rest)
                if ByteText.hasPrefix(rest, "ruleset=check_mail") { e.senders += values } else if ByteText.hasPrefix(rest, "ruleset=check_rcpt") { e.recipients += values }
            }
            relay(in: rest, into: &e)
        } else if ByteText.hasPrefix(rest, "done") {
            e.closes = true
        } else {
            // `[ip] did not issue …`, `lost input channel from host [ip] …`,
            // `… from host [ip] …` probes: the bracketed address is the client.
            // `host [ip] did not issue …`, `host [ip]: EXPN root [rejected]`.
            let leadingHost = rest.prefix(while: { ByteText.isHostByte($0) })
            let afterHost = rest[leadingHost.endIndex...].drop(while: { $0 == 0x20 })
            if afterHost.first == UInt8(ascii: "["), let (inside, _) = ByteText.bracket(at: afterHost.startIndex, in: rest) {
                addClient(inside, into: &e)
            } else if let f = ByteText.find("from ", in: rest), let open = rest[f...].firstIndex(of: UInt8(ascii: "[")),
                let (inside, _) = ByteText.bracket(at: open, in: rest), !rest[f..<open].dropFirst(5).contains(0x2C)
            {
                addClient(inside, into: &e)
            } else {
                relay(in: rest, into: &e)
            }
        }
    }

    static func relay(in rest: ArraySlice<UInt8>, into e: inout MailEvent) {
        guard let r = ByteText.find("relay=", in: rest) else { return }
        let clause = rest[r...].prefix(while: { $0 != 0x2C })
        guard let open = clause.firstIndex(of: UInt8(ascii: "[")), let (inside, _) = ByteText.bracket(at: open, in: rest) else { return }
        addClient(inside, into: &e)
    }

    /// `[192.0.2.1]` or `[IPv6:2001:db8::1]` contents, if an address.
    static func addClient(_ inside: ArraySlice<UInt8>, into e: inout MailEvent) {
        let address = ByteText.hasPrefix(inside, "IPv6:") ? inside.dropFirst(5) : inside
        if PostfixParser.looksLikeAddress(address) { e.clients.append(address) }
    }

    /// `to=<a>,<b>` or `to=a@b,c@d` up to the next `, key=`.
    static func addressList(after key: StaticString, in rest: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        guard let k = ByteText.find(key, in: rest) else { return [] }
        var i = k + key.utf8CodeUnitCount
        var out: [ArraySlice<UInt8>] = []
        while i < rest.endIndex {
            var start = i, end = i
            if rest[i] == UInt8(ascii: "<") {
                start = i + 1
                guard let close = rest[start...].firstIndex(of: UInt8(ascii: ">")) else { break }
                end = close
                i = close + 1
            } else {
                while i < rest.endIndex, rest[i] != 0x2C, rest[i] != 0x20 { i += 1 }
                end = i
            }
            if end > start { out.append(rest[start..<end]) }
            // Another address follows only as `,<…>` or `,x@y` (not `, key=`).
            guard i < rest.endIndex, rest[i] == 0x2C, i + 1 < rest.endIndex, rest[i + 1] != 0x20 else { break }
            i += 1
        }
        return out
    }
}

/// What a Postfix line contributes to pflogsumm-style totals.
struct PostfixFacts: Sendable {
    enum Status { case sent, deferred, bounced }
    var received = false
    var queued = false
    /// Indices of the sender in the line's buffer (no reference, so a
    /// parsed line can wait in a batch and cross threads).
    var queuedSender: Range<Int> = 0..<0
    var status: Status?
    var rejected = false
}

/// Postfix totals of one syslog name (`postfix`, or a multi-instance name
/// such as `postfix-incoming`) as pflogsumm reports them: received (smtpd `client=`,
/// pickup), delivered (`status=sent`), deferred messages and deferrals,
/// bounced, rejected (smtpd/cleanup `reject:`), and messages per sender
/// (qmgr `from=<…>, size=`; the null sender as `from=<>`).
package struct PostfixCounts: Sendable {
    package var received = 0
    package var delivered = 0
    package var deferrals = 0
    package var bounced = 0
    package var rejected = 0
    package var deferredMessages = Set<String>()
    package var senders: [String: Int] = [:]

    package init() {}

    package var deferred: Int { deferredMessages.count }

    /// Queue ids received and not yet counted for their sender (pflogsumm
    /// counts a sender once per received message, "to avoid counting forwards").
    private var awaitingSender = QueueTable<Void>()
    private var sized = QueueTable<Void>()

    mutating func add(_ facts: PostfixFacts, sender queuedSender: ArraySlice<UInt8>, queueID: MessageAssembler.QueueKey, messageKey: String) {
        if facts.received {
            received += 1
            awaitingSender.insert(queueID, ())
            if awaitingSender.count > 2 * MessageAssembler.maxOpenMessages { awaitingSender.removeAll() }
        }
        if facts.rejected { rejected += 1 }
        switch facts.status {
        case .sent?: delivered += 1
        case .deferred?:
            deferrals += 1
            deferredMessages.insert(messageKey)
        case .bounced?: bounced += 1
        case nil: break
        }
        // pflogsumm never counts a queue id's `from=, size=` twice, even when
        // the id is reused for another message later ("avoid double-counting").
        if facts.queued, sized.insert(queueID, ()), awaitingSender.remove(queueID) != nil {
            if sized.count > 2 * MessageAssembler.maxOpenMessages { sized.removeAll() }
            // pflogsumm lower-cases the domain part only.
            var bytes = Array(queuedSender)
            if let at = bytes.firstIndex(of: UInt8(ascii: "@")) {
                for i in at..<bytes.count where bytes[i] >= 0x41 && bytes[i] <= 0x5A { bytes[i] |= 0x20 }
            }
            let sender = bytes.isEmpty ? "from=<>" : String(decoding: bytes, as: UTF8.self)
            senders[sender, default: 0] += 1
        }
    }
}
