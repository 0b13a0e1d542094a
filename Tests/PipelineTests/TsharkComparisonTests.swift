import Foundation
import GenevaTestSupport
import Pipeline
import Testing
import TelemetryModel

/// Every capture in `../shared/fixtures-real/pcap`: the DNS query names, TLS
/// SNI, HTTP host/URL and SMTP envelope addresses tshark extracts (over UDP
/// and reassembled TCP) are exactly Geneva's observables of those kinds, and
/// every DNS answer name and address tshark shows is one of Geneva's, except
/// the differences named here on purpose.
@Suite struct TsharkComparisonTests {
    static let captures: [String] = {
        (try? FileManager.default.contentsOfDirectory(atPath: RepoPaths.fixturesReal + "/pcap"))?.sorted() ?? []
    }()

    /// Values tshark reports that Geneva deliberately does not.
    static let tsharkOnly: [String: Set<String>] = [
        // RFC 6066 forbids an address literal as server_name: not a domain observable (counted as tls.sni_ip_literal).
        "zeek-tls-fragmented-handshake.pcap.gz": ["tls-sni 104.236.167.107"],
    ]

    static func expected(_ capture: String) throws -> Set<String> {
        var out = Set<String>()
        for row in try TsharkRow.load(capture) {
            if row["dns.flags.response"].split(separator: "|").first == "0" {
                for name in row.queryNames { out.insert("dns-query \(name)") }
            } else if !row["dns.flags.response"].isEmpty {
                for field in ["dns.resp.name", "dns.a", "dns.aaaa", "dns.cname"] {
                    for value in row[field].split(separator: "|") where value != "<Root>" { out.insert("dns-answer \(value.lowercased())") }
                }
            }
            for sni in row["tls.handshake.extensions_server_name"].split(separator: "|") { out.insert("tls-sni \(sni)") }
            for host in row["http.host"].split(separator: "|") { out.insert("http-host \(host)") }
            for url in row["http.request.full_uri"].split(separator: "|") { out.insert("http-url \(url)") }
            let commands = row["smtp.req.command"].split(separator: "|", omittingEmptySubsequences: false)
            let parameters = row["smtp.req.parameter"].split(separator: "|", omittingEmptySubsequences: false)
            for (command, parameter) in zip(commands, parameters) {
                guard let open = parameter.firstIndex(of: "<"), let close = parameter.firstIndex(of: ">"), open < close else { continue }
                let address = parameter[parameter.index(after: open)..<close]
                if command.uppercased() == "MAIL" { out.insert("smtp-mail-from \(address)") }
                if command.uppercased() == "RCPT" { out.insert("smtp-rcpt-to \(address)") }
            }
        }
        return out
    }

    /// Every IPv4/IPv6 address of tshark's UDP and TCP conversations is an
    /// `ip-flow` observable.
    @Test(arguments: captures)
    func flowAddressesMatchTsharkConversations(capture: String) throws {
        let conv = try String(contentsOfFile: RepoPaths.fixturesReal + "/expected/\(capture).conv.txt", encoding: .utf8)
        var want = Set<String>()
        var section = ""
        for line in conv.split(separator: "\n") {
            if line.hasPrefix("TCP Conversations") { section = "tcp" } else if line.hasPrefix("UDP Conversations") { section = "udp" }
            else if line.hasPrefix("IPv4 Conversations") || line.hasPrefix("IPv6 Conversations") { section = "ip" }
            guard section == "tcp" || section == "udp", line.contains("<->") else { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 3 else { continue }
            for endpoint in [parts[0], parts[2]] {
                guard let colon = endpoint.lastIndex(of: ":") else { continue }
                let address = String(endpoint[..<colon])
                if let ip = IPAddress(address) { want.insert(ip.description) }
            }
        }
        var got = Set<String>()
        _ = try? CaptureScanner.observables(path: RepoPaths.fixturesReal + "/pcap/" + capture) { o in
            if o.evidence == .ipFlow { got.insert(o.value) }
        }
        #expect(want.subtracting(got).isEmpty, "\(capture): \(want.subtracting(got).sorted())")
    }

    @Test(arguments: captures)
    func observablesMatchTshark(capture: String) throws {
        var got = Set<String>()
        var ports = [String: String]()
        do {
            _ = try CaptureScanner.observables(path: RepoPaths.fixturesReal + "/pcap/" + capture) { o in
                let item = o.evidence == .dnsAnswer ? "dns-answer \(o.value.lowercased())" : "\(o.evidence.rawValue) \(o.value)"
                got.insert(item)
                ports[item] = o.key
            }
        } catch {
            Issue.record("\(capture): \(error)")
            return
        }
        let want = try Self.expected(capture).subtracting(Self.tsharkOnly[capture] ?? [])
        let missing = want.subtracting(got)
        // tshark's `dns` filter leaves out mDNS/LLMNR (its own dissectors); Geneva keeps them.
        // Answers: Geneva also reports NS/MX/PTR targets, which tshark puts in other fields.
        let extra = got.subtracting(want).filter { item in
            if item.hasPrefix("dns-answer ") { return false }
            if item.hasPrefix("ip-flow ") { return false }  // compared with tshark's conversations below
            guard let key = ports[item] else { return true }
            return !(key.hasSuffix(":5353") || key.hasSuffix(":5355"))
        }
        #expect(missing.isEmpty, "\(capture): tshark has, Geneva lacks: \(missing.sorted()) — Geneva: \(got.sorted().prefix(8))")
        #expect(extra.isEmpty, "\(capture): Geneva has, tshark lacks: \(extra.sorted())")
    }
}
