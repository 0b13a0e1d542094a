import Testing
import WireParsing

@Suite struct ByteReaderTests {
    @Test func readsBigAndLittleEndian() {
        var r = ByteReader([0x01, 0x02, 0x03, 0x04, 0x05, 0x06])
        #expect(r.readUInt16() == 0x0102)
        #expect(r.readUInt16(.little) == 0x0403)
        #expect(r.remaining == 2)
        #expect(r.readUInt32() == nil)
        #expect(r.remaining == 2, "a failed read leaves the cursor where it was")
        #expect(r.readBytes(2) == [0x05, 0x06])
        #expect(r.isAtEnd)
        #expect(r.readUInt8() == nil)
    }

    @Test func slicesKeepTheirIndicesAndOffsetsAreRelative() {
        let base: [UInt8] = [9, 9, 0xAB, 0xCD, 0xEF, 0x01]
        var r = ByteReader(base[2...])
        #expect(r.offset == 0)
        #expect(r.readUInt32() == 0xABCD_EF01)
        let moved = r.seek(toOffset: 1)
        #expect(moved)
        #expect(r.peekUInt8() == 0xCD)
        let beyond = r.seek(toOffset: 5)
        #expect(!beyond)
        let backwards = r.skip(-1)
        #expect(!backwards)
        #expect(r.readBytes(-1) == nil)
    }

    @Test func integerReadFromSliceChecksBounds() {
        let bytes: [UInt8] = [0, 0, 0, 1]
        #expect(UInt32.read(from: bytes[...], at: 0, .big) == 1)
        #expect(UInt32.read(from: bytes[...], at: 0, .little) == 0x0100_0000)
        #expect(UInt32.read(from: bytes[...], at: 1, .big) == nil)
        #expect(UInt16.read(from: bytes[...], at: -1, .big) == nil)
    }

    @Test func anomalyCountsMergeAndSort() {
        var a = AnomalyCounts()
        a.record(Anomaly("dns.truncated_header"))
        a.record(Anomaly("ipv4.bad_header_length"), count: 3)
        var b = AnomalyCounts()
        b.record(Anomaly("dns.truncated_header"))
        a.merge(b)
        #expect(a["dns.truncated_header"] == 2)
        #expect(a.total == 5)
        #expect(a.sorted.map(\.name) == ["ipv4.bad_header_length", "dns.truncated_header"])
    }
}

@Suite struct CSVReaderTests {
    func parse(_ text: String) -> [CSVReader.Record] { CSVReader.records(Array(text.utf8)) }

    @Test func quotedFieldsWithCommasQuotesAndNewlines() {
        let records = parse("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n")
        #expect(records.map(\.fields) == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["last", "", ""]])
        #expect(records.map(\.line) == [1, 2, 4])
        #expect(!records.contains { $0.isMalformed })
    }

    @Test func skipsBOMAndBlankLinesAndHandlesMissingFinalNewline() {
        let records = CSVReader.records([0xEF, 0xBB, 0xBF] + Array("kind,value\n\n\ndomain,a.b".utf8))
        #expect(records.map(\.fields) == [["kind", "value"], ["domain", "a.b"]])
        #expect(records.last?.line == 4)
    }

    @Test func unclosedQuoteIsMalformedNotFatal() {
        let records = parse("a,b\n\"open,c\n")
        #expect(records.count == 2)
        #expect(records[1].isMalformed)
    }

    @Test func garbageBytesNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in
                [UInt8(0x22), 0x2C, 0x0A, 0x0D, 0x41, 0xFF].randomElement(using: &rng)!
            }
            _ = CSVReader.records(bytes)
        }
    }
}
