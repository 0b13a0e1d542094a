import API
import Foundation
import GenevaTestSupport
import Storage
import Testing

@Suite struct TokenBookTests {
    @Test func tokensAreKeptAsDigestsAndMatchedByRole() throws {
        let sensor = TokenBook.hash("sensor-secret"), analyst = TokenBook.hash("analyst-secret")
        #expect(sensor.hasPrefix("sha256:") && sensor.count == 71 && !sensor.contains("sensor-secret"))
        // The SHA-256 test vector of "abc" (FIPS 180-2).
        #expect(TokenBook.hash("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let book = try TokenBook([.sensor: [sensor], .analyst: [analyst.uppercased().replacingOccurrences(of: "SHA256:", with: "sha256:")]])
        #expect(book.roles(of: "sensor-secret") == [.sensor])
        #expect(book.roles(of: "analyst-secret") == [.analyst])
        #expect(book.roles(of: "sensor-secreT").isEmpty)
        #expect(book.roles(of: "").isEmpty)
    }

    @Test func malformedDigestsAreRejectedWithoutEchoingThem() {
        for bad in ["plain-token", "sha256:abc", "sha256:" + String(repeating: "g", count: 64), "md5:" + String(repeating: "0", count: 64)] {
            #expect(throws: TokenError.self) { try TokenBook([.sensor: [bad]]) }
            do {
                _ = try TokenBook([.analyst: [TokenBook.hash("x"), bad]])
            } catch {
                #expect(error.message.contains("tokens.analysts entry 2") && !error.message.contains(bad))
            }
        }
    }
}

@Suite struct SightingUploadParserTests {
    static let line = #"{"time":"2026-07-01T10:00:00Z","customer":"acme","sensor":"dmz","evidence":"dns-query","flow":"udp 10.0.0.2:5353 -> 10.0.0.1:53","source":"a.pcap","offset":24,"observed":"x.evil.example","indicator":{"kind":"domain","value":"evil.example"},"attributions":[]}"#

    @Test func linesAreParsedAndBlankLinesSkipped() throws {
        let body = Array((Self.line + "\n\n" + Self.line.replacingOccurrences(of: "\"offset\":24", with: "\"offset\":99") + "\r\n").utf8)
        let uploads = try SightingUploadParser.parse(body)
        #expect(uploads.count == 2)
        #expect(uploads[0].indicatorKind == "domain" && uploads[0].indicatorValue == "evil.example" && uploads[0].key.hasPrefix("udp "))
        #expect(uploads[1].offset == 99)
        let mail = Self.line.replacingOccurrences(of: #""evidence":"dns-query","flow""#, with: #""evidence":"maillog-sender","message""#)
        #expect(try SightingUploadParser.parse(Array(mail.utf8))[0].evidence == .maillogSender)
    }

    @Test(arguments: [
        ("{not json", "not JSON"),
        ("[1,2]", "not a JSON object"),
        (line.replacingOccurrences(of: "2026-07-01T10:00:00Z", with: "yesterday"), "time"),
        (line.replacingOccurrences(of: "dns-query", with: "telepathy"), "evidence"),
        (line.replacingOccurrences(of: #""kind":"domain""#, with: #""kind":"vibe""#), "indicator.kind"),
        (line.replacingOccurrences(of: #""offset":24"#, with: #""offset":-1"#), "offset"),
        (line.replacingOccurrences(of: #""customer":"acme","#, with: ""), "customer"),
    ])
    func aBadLineIsNamedByItsNumber(bad: String, field: String) {
        let body = Array((Self.line + "\n" + bad + "\n" + Self.line).utf8)
        #expect {
            try SightingUploadParser.parse(body)
        } throws: { error in
            guard let e = error as? SightingUploadParser.LineError else { return false }
            return e.line == 2 && e.message.contains(field)
        }
    }
}

/// docs/api.yaml describes exactly the routes the server registers.
@Suite struct OpenAPIDocumentTests {
    @Test func everyRouteIsDocumentedAndNothingElse() throws {
        let text = try String(contentsOfFile: RepoPaths.root() + "/docs/api.yaml", encoding: .utf8)
        var documented: Set<String> = []
        var inPaths = false
        var path: String? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if !line.hasPrefix(" ") && !line.isEmpty { inPaths = false; continue }
            if line.hasPrefix("  /") && line.hasSuffix(":") && !line.hasPrefix("    ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    ") && !line.hasPrefix("     "),
                      let method = ["get", "post", "put", "delete", "patch"].first(where: { line == "    \($0):" }) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let served = Set(GenevaAPI.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served)
        #expect(documented.count == 7)
    }
}
