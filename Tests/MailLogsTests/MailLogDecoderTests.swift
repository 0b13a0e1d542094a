import GenevaTestSupport
import MailLogs
import Testing
import TelemetryModel

func decodeLog(_ text: String, reference: String = "2026-11-26", offset: Int64 = 0, chunk: Int = 1 << 20) -> (observables: [Observable], decoder: MailLogDecoder) {
    var d = MailLogDecoder(source: "t.log", clock: LogClock(reference: Timestamp(parsing: reference)!, utcOffsetSeconds: offset))
    var out: [Observable] = []
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
        let end = min(bytes.count, i + chunk)
        d.feed(bytes[i..<end]) { out.append($0) }
        i = end
    }
    d.finish { out.append($0) }
    return (out, d)
}

@Suite struct LogClockTests {
    let clock = LogClock(reference: Timestamp(parsing: "2026-01-10T12:00:00Z")!)

    func rfc3164(_ s: String, _ c: LogClock? = nil) -> String? {
        (c ?? clock).rfc3164(Array(s.utf8)[...]).map { $0.0.rfc3339 }
    }

    @Test func yearIsInferredFromTheReferenceWithDecemberRollover() {
        #expect(rfc3164("Jan  9 08:00:00 host x: y") == "2026-01-09T08:00:00Z")
        #expect(rfc3164("Dec 31 23:59:59 host x: y") == "2025-12-31T23:59:59Z", "December read in January is last year")
        #expect(rfc3164("Jan 11 00:00:00 host x: y") == "2026-01-11T00:00:00Z", "a day of clock skew is allowed")
        #expect(rfc3164("Jan 12 00:00:01 host x: y") == "2025-01-12T00:00:01Z", "further in the future is last year")
        #expect(rfc3164("Feb 29 10:00:00 host x: y", LogClock(reference: Timestamp(parsing: "2025-03-10")!)) == "2024-02-29T10:00:00Z")
        #expect(rfc3164("Foo  1 00:00:00 x") == nil)
        #expect(rfc3164("Jan 32 00:00:00 x") == nil)
        #expect(rfc3164("Jan  1 24:00:00 x") == nil)
    }

    @Test func zoneLessStampsUseTheConfiguredOffset() {
        let cet = LogClock(reference: Timestamp(parsing: "2026-01-10")!, utcOffsetSeconds: 3600)
        #expect(rfc3164("Jan  9 08:00:00 h p: m", cet) == "2026-01-09T07:00:00Z")
        #expect(cet.iso(Array("1999-03-02 09:44:33 x".utf8)[...]).map { $0.0.rfc3339 } == "1999-03-02T08:44:33Z")
        #expect(cet.iso(Array("2024-08-26T01:33:38.572449+00:00 h".utf8)[...]).map { $0.0.rfc3339 } == "2024-08-26T01:33:38.572449Z")
        #expect(cet.iso(Array("2024-01-25T15:16:09.843Z,".utf8)[...]).map { $0.0.rfc3339 } == "2024-01-25T15:16:09.843Z")
        #expect(cet.iso(Array("2013-06-02 09:22:05 +0200 x".utf8)[...]).map { $0.0.rfc3339 } == "2013-06-02T07:22:05Z")
    }
}

@Suite struct MailLogDecoderTests {
    static let postfix = """
        Sep  4 01:24:11 mx postfix/smtpd[5946]: BABABABABA: client=mail.evil.example[203.0.113.7]
        Sep  4 01:24:11 mx postfix/qmgr[2710]: BABABABABA: from=<CEO@Evil.Example>, size=11214, nrcpt=1 (queue active)
        Sep  4 01:24:12 mx postfix/smtp[6932]: BABABABABA: to=<victim@corp.example>, orig_to=<alias@corp.example>, relay=mx.corp.example[198.51.100.1]:25, delay=0.49, dsn=2.0.0, status=sent (250 ok)
        Sep  4 01:24:12 mx postfix/qmgr[2710]: BABABABABA: removed
        Sep  4 01:25:12 mx postfix/smtpd[5963]: BABABABABA: client=other.example[192.0.2.9]
        Sep  4 01:26:00 mx postfix/smtpd[7]: NOQUEUE: reject: RCPT from unknown[2001:db8::7]: 554 5.7.1 Relay access denied; from=<x@spam.example> to=<y@corp.example> proto=ESMTP helo=<h>
        Sep  4 01:26:01 mx dovecot: imap-login: Login: user=<bob>
        """

    @Test func postfixObservablesWithMessageKeysAndQueueIDReuse() {
        let (obs, d) = decodeLog(Self.postfix)
        let rendered = obs.map { "\($0.offset) \($0.evidence.rawValue) \($0.value) \($0.key)" }
        #expect(rendered == [
            "1 maillog-client 203.0.113.7 BABABABABA",
            "2 maillog-sender CEO@Evil.Example BABABABABA",
            "3 maillog-recipient victim@corp.example BABABABABA",
            "3 maillog-recipient alias@corp.example BABABABABA",
            "5 maillog-client 192.0.2.9 BABABABABA#2",
            "6 maillog-client 2001:db8::7 postfix/smtpd[7]",
            "6 maillog-sender x@spam.example postfix/smtpd[7]",
            "6 maillog-recipient y@corp.example postfix/smtpd[7]",
        ])
        #expect(d.lineCount == 7 && d.mailLines == 6 && d.otherProgramLines == 1)
        #expect(d.anomalies.isEmpty)
        #expect(obs[0].time == Timestamp(parsing: "2026-09-04T01:24:11Z"))
        #expect(d.assembler.messagesSeen == 2)
    }

    @Test func everyChunkingGivesTheSameResult() {
        let whole = decodeLog(Self.postfix).observables
        for chunk in 1...40 {
            #expect(decodeLog(Self.postfix, chunk: chunk).observables == whole)
        }
    }

    @Test func eximSendmailAndExchangeLines() {
        let log = """
            2024-01-01 10:00:00 1rKabc-000Abc-Xy <= spoof@evil.example H=mail.evil.example (helo.example) [203.0.113.8]:4567 P=esmtps S=1234
            2024-01-01 10:00:01 1rKabc-000Abc-Xy => victim@corp.example <alias@corp.example> R=dnslookup T=remote_smtp H=mx.corp.example [198.51.100.2]
            2024-01-01 10:00:01 1rKabc-000Abc-Xy Completed
            2024-01-01 10:00:02 H=(helo) [203.0.113.9] F=<a@evil.example> rejected RCPT <b@corp.example>: relay not permitted
            Apr  2 00:15:25 mx sm-mta[32300]: u31FFPtp032300: from=<s@evil.example>, size=10, class=0, nrcpts=2, msgid=<m@x>, proto=ESMTP, relay=smtp.evil.example [203.0.113.10]
            Apr  2 00:15:26 mx sm-mta[32301]: u31FFPtp032300: to=<r1@corp.example>,<r2@corp.example>, delay=00:00:01, mailer=esmtp, relay=mx.corp.example. [198.51.100.3], dsn=2.0.0, stat=Sent (ok)
            #Fields: date-time,client-ip,sender-address,recipient-address,message-id,message-subject
            2024-01-25T15:16:09.949Z,10.11.12.14,boss@evil.example,"v1@corp.example;v2@corp.example",<id@x>,"Secret, do not keep"
            """
        let (obs, d) = decodeLog(log)
        let rendered = obs.map { "\($0.offset) \($0.evidence.rawValue) \($0.value) \($0.key)" }
        #expect(rendered == [
            "1 maillog-client 203.0.113.8 1rKabc-000Abc-Xy",
            "1 maillog-sender spoof@evil.example 1rKabc-000Abc-Xy",
            "2 maillog-recipient victim@corp.example 1rKabc-000Abc-Xy",
            "2 maillog-recipient alias@corp.example 1rKabc-000Abc-Xy",
            "4 maillog-client 203.0.113.9 exim",
            "4 maillog-sender a@evil.example exim",
            "4 maillog-recipient b@corp.example exim",
            "5 maillog-client 203.0.113.10 u31FFPtp032300",
            "5 maillog-sender s@evil.example u31FFPtp032300",
            "6 maillog-recipient r1@corp.example u31FFPtp032300",
            "6 maillog-recipient r2@corp.example u31FFPtp032300",
            "8 maillog-client 10.11.12.14 <id@x>",
            "8 maillog-sender boss@evil.example <id@x>",
            "8 maillog-recipient v1@corp.example <id@x>",
            "8 maillog-recipient v2@corp.example <id@x>",
        ])
        #expect(!obs.contains { $0.value.contains("Secret") }, "the subject is never an observable")
        #expect(d.anomalies.isEmpty)
    }

    @Test func garbageBinaryAndOverlongLinesAreCountedSkips() {
        let long = String(repeating: "x", count: MailLogDecoder.maxLineLength + 10)
        let log = "this is not a log line\n" + long + "\nSep  4 01:24:11 mx postfix/smtpd[1]: AB12CD: client=a[192.0.2.1]\nbin\u{0}ary\r\n"
        for chunk in [1, 100, 1 << 20] {
            let (obs, d) = decodeLog(log, chunk: chunk)
            #expect(obs.map(\.value) == ["192.0.2.1"])
            #expect(d.anomalies["maillog.unparsed_line"] == 1)
            #expect(d.anomalies["maillog.line_too_long"] == 1)
            #expect(d.anomalies["maillog.binary_line"] == 1)
            #expect(d.lineCount == 4)
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededGenerator(seed: 9)
        let pieces = ["Sep  4 01:24:11 mx postfix/smtpd[1]: ", "AB12CD: ", "client=", "[", "]", "<", ">", "from=<", "to=<", "@", "\n",
                      "2024-01-01 10:00:00 ", "H=", "(", ")", "1rKabc-000Abc-Xy ", "<= ", "=> ", ",", "\"", "relay=", "192.0.2.1", ":"]
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...30, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            _ = decodeLog(text, chunk: Int.random(in: 1...20, using: &rng))
        }
    }

    @Test func openMessagesAreBounded() {
        var lines: [String] = []
        lines.reserveCapacity(MessageAssembler.maxOpenMessages + 10)
        for i in 0..<(MessageAssembler.maxOpenMessages + 10) {
            lines.append("Sep  4 01:24:11 mx postfix/smtpd[1]: Q\(String(0x1000_0000 + i, radix: 16, uppercase: true)): client=a[192.0.2.1]")
        }
        let (_, d) = decodeLog(lines.joined(separator: "\n"))
        #expect(d.assembler.openCount == MessageAssembler.maxOpenMessages)
        #expect(d.assembler.evicted == 10)
    }
}
