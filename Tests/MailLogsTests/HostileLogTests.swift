import MailLogs
import Testing
import TelemetryModel

/// Regression tests for review findings: inputs an attacker controls.
@Suite struct HostileLogTests {
    @Test func farApartStampsUnderOneQueueIDDoNotTrap() {
        let log = """
            2261-12-31 23:59:59 1qB2cD-0001aB-Cd <= a@b.example H=x [192.0.2.1]
            1678-01-01 00:00:00 1qB2cD-0001aB-Cd <= a@b.example H=x [192.0.2.1]
            9999-01-01 00:00:00 1qB2cD-0001aB-Cd <= a@b.example H=x [192.0.2.1]
            """
        let (obs, d) = decodeLog(log)
        #expect(obs.count == 4)
        #expect(d.anomalies["maillog.unparsed_line"] == 1, "a year Int64 nanoseconds cannot hold is not a stamp")
    }

    @Test func anEchoedBracketDoesNotHideTheEnvelope() {
        let log = #"Sep  4 01:26:00 mx postfix/smtpd[7]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 450 4.1.8 <"x[y"@evil.example>: Sender address rejected; from=<"x[y"@evil.example> to=<v@corp.example> proto=ESMTP helo=<[198.51.100.8]>"#
        let (obs, _) = decodeLog(log)
        #expect(obs.map { "\($0.evidence.rawValue) \($0.value)" } == [
            "maillog-client 192.0.2.4", "maillog-sender \"x[y\"@evil.example", "maillog-recipient v@corp.example",
        ])
    }

    @Test func clientControlledHostClausesDoNotReplaceEximsOwn() {
        let log = """
            2024-01-01 10:00:02 H=(helo) [192.0.2.4] F=<s@x.example> rejected RCPT <"a H=[203.0.113.99]"@x.example>: relay not permitted
            2024-01-01 10:00:03 rejected EHLO from [192.0.2.5]: syntactically invalid argument(s): evil H=[203.0.113.99]
            2017-11-28 14:14:32 SMTP protocol error in "aUtH lOgIn" H=(test) [203.0.113.99]" H=(roxzgj) [192.0.2.6] AUTH command used when not advertised
            """
        let (obs, _) = decodeLog(log)
        let clients = obs.filter { $0.evidence == .maillogClient }.map(\.value)
        #expect(clients == ["192.0.2.4", "192.0.2.5", "192.0.2.6"])
    }
}
