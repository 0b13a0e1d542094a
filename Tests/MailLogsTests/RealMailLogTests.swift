import Foundation
import GenevaTestSupport
import MailLogs
import Testing
import TelemetryModel

/// Geneva's observables of a mail log, by line.
struct MailObservables {
    var byLine: [Int: [(Evidence, String)]] = [:]
    var decoder: MailLogDecoder

    init(_ file: String, chunk: Int = 4096) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: RepoPaths.fixturesReal + "/maillog/" + file)))
        decoder = MailLogDecoder(source: file, clock: LogClock(reference: Timestamp(parsing: "2026-11-26")!))
        var out: [Int: [(Evidence, String)]] = [:]
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            decoder.feed(bytes[i..<end]) { out[Int($0.offset), default: []].append(($0.evidence, $0.value)) }
            i = end
        }
        decoder.finish { out[Int($0.offset), default: []].append(($0.evidence, $0.value)) }
        byLine = out
    }

    func has(_ line: Int, _ evidence: Evidence, _ value: String) -> Bool {
        (byLine[line] ?? []).contains { $0.0 == evidence && $0.1.lowercased() == value.lowercased() }
    }
}

@Suite struct RealMailLogTests {
    static let logs = [
        "crowdsec-exim-logs.log", "crowdsec-postfix-logs.log", "elastic-exchange-messagetracking.log", "exim-testsuite-0023.mainlog",
        "exim-testsuite-0322.mainlog", "fail2ban-exim.log", "fail2ban-postfix.log", "fail2ban-sendmail-reject.log",
        "fluent-plugin-sendmail-data.log", "lightmeter-postfix-14_reuse_of_queueid.log",
        "lightmeter-postfix-21_deliveries_with_local_daemon.log", "lightmeter-postfix-6_deferred_message_retry.log",
        "lightmeter-postfix-9_mixed_messages.log",
    ]

    /// The fail2ban authors' own expectations (`# failJSON` before each line):
    /// the offending client of every matching line.
    @Test(arguments: ["fail2ban-postfix.log", "fail2ban-exim.log", "fail2ban-sendmail-reject.log"])
    func failJSONClientsAreFound(file: String) throws {
        let tsv = try String(contentsOfFile: RepoPaths.fixturesReal + "/expected/\(file).failjson.tsv", encoding: .utf8)
        let geneva = try MailObservables(file)
        var missing: [String] = []
        var checked = 0
        for row in tsv.split(separator: "\n").dropFirst() {
            let cells = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cells.count >= 3, cells[1] == "True", let line = Int(cells[0]), IPAddress(cells[2]) != nil else { continue }
            checked += 1
            if !geneva.has(line, .maillogClient, cells[2]) { missing.append("line \(line): \(cells[2])") }
        }
        #expect(checked > 0)
        #expect(missing.isEmpty, "\(missing)")
    }

    /// Lines where the heuristic reference is wrong and fail2ban's own
    /// failJSON (the stronger oracle, MANIFEST.md) names a different client.
    static let heuristicErrors: Set<String> = [
        // `H=([127.0.0.1]) [92.45.204.170]`: the bracket in parentheses is the client's HELO claim.
        "fail2ban-exim.log:76",
        // `H=(test) [8.8.8.8]" H=(roxzgj) [192.0.2.6]`: a client injecting `H=` into its command; Exim's own H= is the last.
        "fail2ban-exim.log:114",
    ]

    /// The fixture set's heuristic parse (`expected/<file>.jsonl`): every client
    /// address and e-mail address it finds on a line, Geneva finds on that line.
    @Test(arguments: logs)
    func heuristicReferenceValuesAreFound(file: String) throws {
        let jsonl = try String(contentsOfFile: RepoPaths.fixturesReal + "/expected/\(file).jsonl", encoding: .utf8)
        let geneva = try MailObservables(file)
        var missing: [String] = []
        for text in jsonl.split(separator: "\n") {
            guard let record = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let line = record["line"] as? Int,
                !Self.heuristicErrors.contains("\(file):\(line)")
            else { continue }
            let flag = record["flag"] as? String
            for key in ["client_ip", "host_ip", "relay_ip", "client-ip", "original-client-ip"] {
                guard let ip = record[key] as? String, !ip.isEmpty else { continue }
                // Deliberate differences: on Exim deliveries (=> -> ** ==) H=[ip] is
                // the destination server, and a Sendmail to= line's relay= is where
                // the message went; neither is a client of this server.
                if key == "host_ip", let flag, flag != "<=" { continue }
                if key == "relay_ip", record["to"] != nil, record["from"] == nil { continue }
                // On a Postfix delivery line the heuristic's `from …[ip]` is the
                // content filter named in "queued as" text, not a client.
                if key == "client_ip", record["status"] != nil { continue }
                if !geneva.has(line, .maillogClient, ip) { missing.append("\(line) \(key) \(ip)") }
            }
            var senders: [String] = [], recipients: [String] = []
            for key in ["from", "sender-address"] { if let v = record[key] as? String { senders.append(v) } }
            for key in ["to", "rejected_rcpt", "recipient-address"] {
                if let v = record[key] as? String { recipients.append(v) }
                if let v = record[key] as? [String] { recipients += v }
            }
            if let address = record["address"] as? String { (flag == "<=" ? { senders.append(address) } : { recipients.append(address) })() }
            if let original = record["original_address"] as? String { recipients.append(original) }
            if let arg1 = record["arg1"] as? String { recipients.append(arg1) }
            for s in senders where s.contains("@") && !geneva.has(line, .maillogSender, s) { missing.append("\(line) sender \(s)") }
            for r in recipients where r.contains("@") && !geneva.has(line, .maillogRecipient, r) { missing.append("\(line) recipient \(r)") }
        }
        #expect(missing.isEmpty, "\(file): \(missing)")
    }

    @Test(arguments: logs)
    func anyChunkingGivesTheSameObservables(file: String) throws {
        let whole = try MailObservables(file, chunk: 1 << 20)
        for chunk in [1, 7, 100] {
            let other = try MailObservables(file, chunk: chunk)
            #expect(other.byLine.mapValues { $0.map { "\($0.0):\($0.1)" } } == whole.byLine.mapValues { $0.map { "\($0.0):\($0.1)" } })
            #expect(other.decoder.lineCount == whole.decoder.lineCount)
        }
    }
}
