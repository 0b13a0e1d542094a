import Testing
import TelemetryModel
import ThreatIntel

@Suite struct IntelCSVParserTests {
    func parse(_ text: String) throws -> IntelDocument {
        try IntelImporter.parse(Array(text.utf8), source: "test.csv")
    }

    @Test func columnsInAnyOrderWithOptionalFields() throws {
        let doc = try parse("""
            Confidence,VALUE,kind,campaign,actor_country,actor,valid_until,valid_from,extra
            80,Evil.Example.,domain,Ghost Mail,ru,APT-Alpha,2026-12-31,2026-01-01,ignored
            ,198.51.100.7,ipv4,,,,,,
            """)
        #expect(doc.records.count == 2)
        let first = doc.records[0]
        #expect(first.kind == .domain && first.value == "evil.example")
        #expect(first.actor == "APT-Alpha" && first.actorCountry?.code == "RU" && first.campaign == "Ghost Mail")
        #expect(first.validFrom == Timestamp(parsing: "2026-01-01") && first.validUntil == Timestamp(parsing: "2026-12-31"))
        #expect(first.confidence == 80 && first.line == 2)
        #expect(doc.records[1] == IntelStatement(kind: .ipv4, value: "198.51.100.7", line: 3))
        #expect(doc.skipped.isEmpty)
    }

    @Test func badRowsAreCountedByReason() throws {
        let doc = try parse("""
            kind,value,actor_country,valid_from,valid_until,confidence
            domain,good.example,,,,
            registry-key,HKLM\\Run,,,,
            domain,not a domain,,,,
            ipv4,300.1.1.1,,,,
            domain,a.example,Russia,,,
            domain,b.example,,someday,,
            domain,c.example,,2026-02-01,2026-01-01,
            domain,d.example,,,,101
            ,e.example,,,,
            domain,,,,,
            """)
        #expect(doc.records.map(\.value) == ["good.example"])
        #expect(doc.skipped == [
            "unknown_kind": 1, "invalid_domain": 1, "invalid_ipv4": 1, "invalid_actor_country": 1,
            "invalid_valid_from": 1, "empty_validity_window": 1, "invalid_confidence": 1, "missing_kind": 1, "missing_value": 1,
        ])
    }

    @Test func unusableFilesAreErrorsNamingTheFile() {
        #expect(throws: IntelImportError.self) { try parse("") }
        do {
            _ = try parse("type,indicator\ndomain,a.example\n")
            Issue.record("accepted a CSV without kind,value")
        } catch let error as IntelImportError {
            #expect(error.code == .missingColumns)
            #expect(error.detail.hasPrefix("test.csv: "))
        } catch {
            Issue.record("unexpected \(error)")
        }
        do {
            _ = try parse("  {\"hello\": \"world\"}")
            Issue.record("accepted JSON that is no known intel format")
        } catch let error as IntelImportError {
            #expect(error.code == .unsupportedFormat)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: IntelImportError.self) { try IntelImporter.parse([0x00, 0xFF, 0xFE, 0x00, 0x0A], source: "bin") }
    }

    @Test func customersCSV() throws {
        let result = try CustomerCSVParser.parse(Array("""
            id,name,country,sector
            acme,Acme GmbH,de,manufacturing
            bad,No Country,,x
            acme,Acme Maschinenbau GmbH,DE,
            globex,"Globex, SA",FR
            """.utf8), source: "c.csv")
        #expect(result.customers.map(\.id) == ["acme", "globex"])
        #expect(result.customers[0].name == "Acme Maschinenbau GmbH" && result.customers[0].sector == nil)
        #expect(result.customers[1].name == "Globex, SA" && result.customers[1].country.code == "FR")
        #expect(result.skipped == ["invalid_country": 1, "duplicate_id": 1])
        #expect(throws: IntelImportError.self) { try CustomerCSVParser.parse(Array("id,name\n".utf8), source: "c.csv") }
    }
}

@Suite struct ReviewRegressionTests {
    @Test func jsonLinesStartingWithABundleAreReadOnce() throws {
        let text = """
            {"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator", "id": "indicator--1", "pattern_type": "stix", "pattern": "[domain-name:value = 'a.example']", "valid_from": "2026-01-01T00:00:00Z"}]}
            {"type": "indicator", "id": "indicator--2", "pattern_type": "stix", "pattern": "[domain-name:value = 'b.example']", "valid_from": "2026-01-01T00:00:00Z", "valid_until": "9999-12-31T23:59:59Z"}
            """
        let doc = try IntelImporter.parse(Array(text.utf8), source: "x.jsonl")
        #expect(doc.records.map(\.value) == ["a.example", "b.example"])
        #expect(doc.records[1].validUntil == Timestamp.distantFuture, "never expires stays open-ended")
    }

    @Test func mispFilenameWithABarKeepsItsHash() throws {
        let event = #"{"Event": {"info": "x", "Attribute": [{"type": "filename|md5", "value": "a|b.exe|D41D8CD98F00B204E9800998ECF8427E", "to_ids": true}]}}"#
        let doc = try IntelImporter.parse(Array(event.utf8), source: "e.json")
        #expect(doc.records.map(\.value) == ["d41d8cd98f00b204e9800998ecf8427e"])
    }

    @Test func aLoneCarriageReturnAtTheEndIsNotData() throws {
        let doc = try IntelImporter.parse(Array("kind,value,actor_country\r\ndomain,a.example,DE\r".utf8), source: "c.csv")
        #expect(doc.records.first?.actorCountry?.code == "DE")
        #expect(doc.skipped.isEmpty)
    }
}
