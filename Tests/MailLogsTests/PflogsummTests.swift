import Foundation
import GenevaTestSupport
import MailLogs
import Testing
import TelemetryModel

/// Postfix totals agree with pflogsumm's report on the same file
/// (`expected/<file>.pflogsumm.txt`, made by the Debian pflogsumm package).
@Suite struct PflogsummTests {
    struct Report {
        var totals: [String: Int] = [:]
        var senders: [String: Int] = [:]

        init(_ file: String) throws {
            let text = try String(contentsOfFile: RepoPaths.fixturesReal + "/expected/\(file).pflogsumm.txt", encoding: .utf8)
            var section = ""
            for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix("Grand Totals") { section = "totals" } else if line.hasPrefix("Senders by message count") {
                    section = "senders"
                } else if line.hasPrefix("Per-Hour") || line.hasPrefix("Recipients by") || line.hasPrefix("Senders by message size") {
                    section = ""
                }
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2, let n = Int(parts[0]) else { continue }
                let label = parts[1].trimmingCharacters(in: .whitespaces)
                if section == "totals" {
                    totals[String(label.split(separator: " ").first ?? "")] = n
                } else if section == "senders" {
                    senders[label] = n
                }
            }
        }
    }

    @Test(arguments: [
        "crowdsec-postfix-logs.log", "fail2ban-postfix.log", "lightmeter-postfix-14_reuse_of_queueid.log",
        "lightmeter-postfix-21_deliveries_with_local_daemon.log", "lightmeter-postfix-6_deferred_message_retry.log",
        "lightmeter-postfix-9_mixed_messages.log",
    ])
    func totalsAgreeWithPflogsumm(file: String) throws {
        let expected = try Report(file)
        // pflogsumm reads one syslog name: `postfix` by default; the Lightmeter
        // multi-instance file was summarised with --syslog-name=postfix-170.55.103.23.
        let name = file.contains("14_reuse") ? "postfix-170.55.103.23" : "postfix"
        let counts = try #require(try MailObservables(file).decoder.postfixCounts[name])
        #expect(counts.received == expected.totals["received"], "received")
        #expect(counts.delivered == expected.totals["delivered"], "delivered")
        #expect(counts.deferred == expected.totals["deferred"], "deferred")
        #expect(counts.bounced == expected.totals["bounced"], "bounced")
        #expect(counts.rejected == expected.totals["rejected"], "rejected")
        #expect(counts.senders == expected.senders, "senders by message count")
    }
}
