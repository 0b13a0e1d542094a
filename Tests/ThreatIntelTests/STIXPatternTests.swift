import Testing
import TelemetryModel
import ThreatIntel

@Suite struct STIXPatternTests {
    func values(_ pattern: String) throws -> [String] {
        try STIXPattern.parse(pattern).extraction.values.map { "\($0.kind.rawValue):\($0.raw)" }
    }

    func unsupported(_ pattern: String) throws -> [String] {
        try STIXPattern.parse(pattern).extraction.unsupported
    }

    @Test func singleComparisons() throws {
        #expect(try values("[domain-name:value = 'evil.example']") == ["domain:evil.example"])
        #expect(try values("[ipv4-addr:value = '223.166.0.0/15']") == ["cidr:223.166.0.0/15"])
        #expect(try values("[ipv4-addr:value = '198.51.100.7/32']") == ["ipv4:198.51.100.7"])
        #expect(try values("[ipv6-addr:value = '2001:db8::/32']") == ["cidr:2001:db8::/32"])
        #expect(try values("[url:value = 'http://evil.example/a']") == ["url:http://evil.example/a"])
        #expect(try values("[email-message:from_ref.value = 'a@evil.example']") == ["email:a@evil.example"])
        #expect(try values("[file:hashes.'SHA-256' = 'aa']") == ["sha256:aa"])
        #expect(try values("[file:hashes.md5 = 'bb']") == ["md5:bb"])
        #expect(try values("[file:hashes.'SHA-1' = 'cc']") == ["sha1:cc"])
    }

    @Test func disjunctionsAndSetsAreUnions() throws {
        #expect(try values("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']") == ["domain:a.example", "domain:b.example"])
        #expect(try values("[domain-name:value = 'a.example'] OR [ipv4-addr:value = '192.0.2.1']") == ["domain:a.example", "ipv4:192.0.2.1"])
        #expect(try values("[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]") == ["ipv4:192.0.2.1", "ipv4:192.0.2.2"])
        #expect(try values("([domain-name:value = 'a.example'] OR ([domain-name:value = 'b.example']))") == ["domain:a.example", "domain:b.example"])
    }

    @Test func conjunctionsAreNotLiterals() throws {
        let x509 = "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b']"
        #expect(try values(x509).isEmpty)
        #expect(try unsupported(x509) == ["stix_pattern_and"])
        #expect(try values("[domain-name:value = 'a.example'] AND [ipv4-addr:value = '192.0.2.1']").isEmpty)
        #expect(try values("[domain-name:value = 'a.example'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.1']").isEmpty)
        #expect(try values("[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '192.0.2.1']").isEmpty)
        // One file's hashes joined by AND each identify that file.
        #expect(try values("[file:hashes.MD5 = 'aa' AND file:size = 10]") == ["md5:aa"])
    }

    @Test func operatorsAndPathsThatAreNotEqualityOnAKnownKind() throws {
        #expect(try unsupported("[domain-name:value != 'a.example']") == ["unsupported_operator:!="])
        #expect(try unsupported("[domain-name:value NOT = 'a.example']") == ["unsupported_operator:NOT ="])
        #expect(try unsupported("[url:value LIKE '%evil%']") == ["unsupported_operator:LIKE"])
        #expect(try unsupported("[url:value MATCHES '^http']") == ["unsupported_operator:MATCHES"])
        #expect(try unsupported("[file:name = 'evil.exe']") == ["unsupported_observable:file:name"])
        #expect(try values("[file:hashes.MD5 = 'aa' OR file:hashes.'SHA-512' = 'bb']") == ["md5:aa"])
        #expect(try unsupported("[file:hashes.MD5 = 'aa' OR file:hashes.'SHA-512' = 'bb']") == ["unsupported_observable:file:hashes.SHA-512"])
    }

    @Test func qualifiersAndTypedLiteralsParse() throws {
        let p = try STIXPattern.parse("[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES WITHIN 300 SECONDS")
        guard case .observation(_, let qualifiers) = p else {
            Issue.record("not an observation")
            return
        }
        #expect(qualifiers == ["REPEATS 5 TIMES", "WITHIN 300 SECONDS"])
        #expect(try values("[ipv4-addr:value = '192.0.2.1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'") == ["ipv4:192.0.2.1"])
        _ = try STIXPattern.parse("[file:size > 1024 AND file:content_ref.payload_bin = b'aGk=' AND file:x = h'ff' AND file:y = true]")
        #expect(try values(#"[domain-name:value = 'it\'s.example']"#) == ["domain:it's.example"])
    }

    @Test(arguments: ["", "domain-name:value = 'a'", "[domain-name:value = 'a'", "[domain-name = 'a']", "[domain-name:value 'a']",
                      "[domain-name:value = 'a'] OR", "[a:b = 'unterminated]", "[a:b IN ()]", "[a:b = 'x'] WITHIN SECONDS",
                      "[a:b = 'x'] junk", "[a:b = @]"])
    func syntaxErrorsAreErrors(pattern: String) {
        #expect(throws: STIXPatternError.self) { try STIXPattern.parse(pattern) }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "(", count: 200) + "[a:b = 'x']" + String(repeating: ")", count: 200)
        #expect(throws: STIXPatternError.self) { try STIXPattern.parse(deep) }
    }
}
