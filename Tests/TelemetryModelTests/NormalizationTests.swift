import Testing
import TelemetryModel

@Suite struct NormalizationTests {
    func norm(_ kind: IndicatorKind, _ raw: String) -> String? {
        try? kind.normalize(raw).get()
    }

    @Test func domains() {
        #expect(norm(.domain, " CDN-Updates.NET. ") == "cdn-updates.net")
        #expect(norm(.domain, "txtpadding_323.n1.netalyzr.icsi.berkeley.edu") == "txtpadding_323.n1.netalyzr.icsi.berkeley.edu")
        #expect(norm(.domain, "com") == nil, "a bare TLD would match half the Internet")
        #expect(norm(.domain, "a..b") == nil)
        #expect(norm(.domain, "exa mple.com") == nil)
        #expect(norm(.domain, "192.0.2.1") == nil, "an IPv4 literal is not a domain")
        #expect(norm(.domain, String(repeating: "a", count: 64) + ".com") == nil)
        #expect(norm(.domain, "bücher.de") == nil, "IDNs must be given in punycode")
    }

    @Test func ipv4() {
        #expect(norm(.ipv4, "198.51.100.7") == "198.51.100.7")
        #expect(norm(.ipv4, "198.51.100.070") == nil)
        #expect(norm(.ipv4, "256.1.1.1") == nil)
        #expect(norm(.ipv4, "1.2.3") == nil)
        #expect(norm(.ipv4, "1.2.3.4.5") == nil)
    }

    @Test(arguments: [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("2607:f0b0:f::babe:f00d", "2607:f0b0:f::babe:f00d"),
        ("fe80:0:0:0:0:0:0:0", "fe80::"),
    ])
    func ipv6CanonicalForm(input: String, expected: String) {
        #expect(norm(.ipv6, input) == expected)
    }

    @Test(arguments: ["1:2:3:4:5:6:7", "1::2::3", ":1::", "12345::", "1:2:3:4:5:6:7:8:9", "g::1", "1:"])
    func ipv6Rejects(input: String) {
        #expect(norm(.ipv6, input) == nil)
    }

    @Test func cidr() {
        #expect(norm(.cidr, "223.166.0.0/15") == "223.166.0.0/15")
        #expect(norm(.cidr, "10.1.2.3/8") == "10.0.0.0/8")
        #expect(norm(.cidr, "10.1.2.3") == "10.1.2.3/32")
        #expect(norm(.cidr, "2001:db8::1/32") == "2001:db8::/32")
        #expect(norm(.cidr, "10.0.0.0/33") == nil)
        #expect(norm(.cidr, "10.0.0.0/") == nil)
    }

    @Test func emails() {
        #expect(norm(.email, "HR-Notice@Alpha-CDN.net") == "hr-notice@alpha-cdn.net")
        #expect(norm(.email, "<a@b.example>") == "a@b.example")
        #expect(norm(.email, "nobody") == nil)
        #expect(norm(.email, "@b.example") == nil)
        #expect(norm(.email, "a b@c.example") == nil)
    }

    @Test func urls() {
        #expect(norm(.url, "HTTP://Evil.COM:80/a%7Eb%2Fc?q=%41#frag") == "http://evil.com/a~b%2Fc?q=A")
        #expect(norm(.url, "https://evil.com:443") == "https://evil.com/")
        #expect(norm(.url, "https://evil.com:8443/x") == "https://evil.com:8443/x")
        #expect(norm(.url, "http://[2001:DB8::1]:80/") == "http://[2001:db8::1]/")
        #expect(norm(.url, "http://evil.com?x") == "http://evil.com/?x")
        #expect(norm(.url, "evil.com/path") == nil)
    }

    @Test func hashes() {
        #expect(norm(.md5, "D41D8CD98F00B204E9800998ECF8427E") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(norm(.md5, "d41d8cd98f00b204e9800998ecf8427") == nil)
        #expect(norm(.sha1, String(repeating: "a", count: 40)) != nil)
        #expect(norm(.sha256, String(repeating: "g", count: 64)) == nil)
        #expect(IndicatorKind.sha256.normalize("x").map { _ in "" } == .failure(InvalidIndicatorValue(kind: .sha256)))
        #expect(InvalidIndicatorValue(kind: .sha256).reason == "invalid_sha256")
    }

    @Test func countryCodes() {
        #expect(CountryCode("de")?.code == "DE")
        #expect(CountryCode(" RU ")?.code == "RU")
        #expect(CountryCode("RUS") == nil)
        #expect(CountryCode("1A") == nil)
        #expect(CountryCode("") == nil)
    }
}
