import AppProtocols
import GenevaTestSupport
import Testing

/// Feeds `bytes` to a stream parser in the given chunking; returns findings.
func findings<P>(_ parser: P, _ bytes: [UInt8], chunk: Int, feed: (inout P, ArraySlice<UInt8>, (StreamFinding) -> Void) -> Void) -> [StreamFinding] {
    var p = parser
    var out: [StreamFinding] = []
    var i = 0
    while i < bytes.count {
        let end = min(bytes.count, i + chunk)
        feed(&p, bytes[i..<end]) { out.append($0) }
        i = end
    }
    return out
}

@Suite struct StreamParserTests {
    @Test func dnsOverTCPSeveralMessagesInAnyChunking() {
        var bytes: [UInt8] = []
        for n in 0..<5 {
            let m = PacketBuilder.dnsQuery(id: UInt16(n), names: ["\(n).google.com"])
            bytes += PacketBuilder.be16(UInt16(m.count)) + m
        }
        for chunk in [1, 3, 17, bytes.count] {
            let got = findings(DNSStreamParser(), bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
            #expect(got == (0..<5).map { .dnsQuery("\($0).google.com") })
        }
    }

    @Test func tlsServerNameAcrossRecordsAndSegments() {
        let name = Array("www.google.com".utf8)
        let sni = PacketBuilder.be16(0) + PacketBuilder.be16(UInt16(name.count + 5)) + PacketBuilder.be16(UInt16(name.count + 3)) + [0]
            + PacketBuilder.be16(UInt16(name.count)) + name
        let padding = PacketBuilder.be16(21) + PacketBuilder.be16(600) + Array(repeating: 0, count: 600)
        let extensions = sni + padding
        let body = [3, 3] + Array(repeating: 1, count: 32) + [0] + PacketBuilder.be16(2) + [0x13, 0x01] + [1, 0]
            + PacketBuilder.be16(UInt16(extensions.count)) + extensions
        let handshake = [1, 0] + PacketBuilder.be16(UInt16(body.count)) + body
        // Split the handshake over two records, then feed in small segments.
        let half = handshake.count / 2
        let records = [22, 3, 1] + PacketBuilder.be16(UInt16(half)) + Array(handshake[0..<half])
            + [22, 3, 1] + PacketBuilder.be16(UInt16(handshake.count - half)) + Array(handshake[half...])
        for chunk in [1, 300, records.count] {
            let got = findings(TLSClientHelloParser(), records, chunk: chunk) { p, d, f in p.feed(d, f) }
            #expect(got == [.tlsSNI("www.google.com")])
        }
    }

    @Test func httpPipeliningWithBodies() {
        let text = "POST /a HTTP/1.1\r\nHost: one.example\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /b HTTP/1.1\r\nHost: two.example:8080\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET http://proxy.example/c HTTP/1.1\r\nHost: proxy.example\r\n\r\n"
        let bytes = Array(text.utf8)
        for chunk in [1, 7, bytes.count] {
            let got = findings(HTTPRequestParser(), bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
            #expect(got == [
                .httpHost("one.example"), .httpURL("http://one.example/a"),
                .httpHost("two.example:8080"), .httpURL("http://two.example:8080/b"),
                .httpHost("proxy.example"), .httpURL("http://proxy.example/c"),
            ])
        }
    }

    @Test func smtpEnvelopeUntilSTARTTLSAndNeverTheContent() {
        let text = "EHLO x\r\nMAIL FROM: <a@evil.example> SIZE=10\r\nRCPT TO:<b@corp.example>\r\nDATA\r\nMAIL FROM:<inside@body.example>\r\n.\r\n"
            + "MAIL FROM:<c@evil.example>\r\nRCPT TO:<d@corp.example>\r\nSTARTTLS\r\nMAIL FROM:<hidden@x.example>\r\n"
        let bytes = Array(text.utf8)
        for chunk in [1, 5, bytes.count] {
            let got = findings(SMTPClientParser(), bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
            #expect(got == [.smtpMailFrom("a@evil.example"), .smtpRcptTo("b@corp.example"), .smtpMailFrom("c@evil.example"), .smtpRcptTo("d@corp.example")])
        }
    }

    @Test func garbageNeverTraps() {
        var rng = SeededGenerator(seed: 8)
        for _ in 0..<1000 {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let chunk = Int.random(in: 1...50, using: &rng)
            _ = findings(DNSStreamParser(), bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
            _ = findings(TLSClientHelloParser(), [22, 3, 1] + bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
            _ = findings(HTTPRequestParser(), Array("GET / HTTP/1.1\r\n".utf8) + bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
            _ = findings(SMTPClientParser(), bytes, chunk: chunk) { p, d, f in p.feed(d, f) }
        }
    }
}
