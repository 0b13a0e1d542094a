import Foundation
import GenevaTestSupport
import MailLogs
@testable import Pipeline
import Testing
import TelemetryModel

/// The two-thread mail-log path (`MailLogFeed`) against the plain decoder:
/// whatever the chunking, the piece size and the number of threads, the same
/// observables (with keys, line numbers and times), counts and anomalies.
@Suite struct MailLogFeedTests {
    static let clock = LogClock(reference: Timestamp(parsing: "2026-11-26")!)

    /// Everything a scan reports of a log, as text that compares.
    struct Outcome: Equatable, CustomStringConvertible {
        var observables: [String] = []
        var totals = ""

        init(_ decoder: MailLogDecoder, _ observables: [String]) {
            self.observables = observables
            let counts = decoder.postfixCounts.sorted { $0.key < $1.key }.map { name, c in
                "\(name): received \(c.received) delivered \(c.delivered) deferred \(c.deferred)/\(c.deferrals) bounced \(c.bounced) rejected \(c.rejected) senders \(c.senders.sorted { $0.key < $1.key })"
            }
            totals = "lines \(decoder.lineCount) mail \(decoder.mailLines) other \(decoder.otherProgramLines) observables \(decoder.observableCount) "
                + "first \(String(describing: decoder.firstTime)) last \(String(describing: decoder.lastTime)) anomalies \(decoder.anomalies.counts.sorted { $0.key < $1.key }) "
                + "messages \(decoder.assembler.messagesSeen) evicted \(decoder.assembler.evicted) \(counts)"
        }

        var description: String { totals + " / \(observables.count) observables" }
    }

    static func line(_ o: Observable) -> String {
        "\(o.offset) \(o.time) \(o.evidence.rawValue) \(o.key) \(o.value)"
    }

    static func reference(_ bytes: [UInt8], wanted: (Evidence, ArraySlice<UInt8>) -> Bool) -> Outcome {
        var decoder = MailLogDecoder(source: "ref", clock: clock)
        var out: [String] = []
        decoder.feed(bytes[...], wanted: wanted) { out.append(line($0)) }
        decoder.finish { out.append(line($0)) }
        return Outcome(decoder, out)
    }

    static func fed(
        _ bytes: [UInt8], threads: Int, pieceSize: Int, chunks: [Int], wanted: @escaping @Sendable (Evidence, ArraySlice<UInt8>) -> Bool
    ) throws -> Outcome {
        var feed = MailLogFeed(decoder: MailLogDecoder(source: "feed", clock: clock), threads: threads, pieceSize: pieceSize, wanted: wanted)
        var out: [String] = []
        var i = 0
        var k = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunks[k % chunks.count])
            try feed.feed(bytes[i..<end]) { out.append(line($0)) }
            i = end
            k += 1
        }
        try feed.finish { out.append(line($0)) }
        return Outcome(feed.decoder, out)
    }

    /// Every real log one after the other, with hostile lines between them:
    /// over-long lines, a binary line, CRLF, blank lines, an Exchange
    /// `#Fields:` header half-way, and no newline at the very end.
    static func mixedLog() throws -> [UInt8] {
        var bytes: [UInt8] = []
        let directory = RepoPaths.fixturesReal + "/maillog"
        let logs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
        #expect(logs.count >= 10)
        for (n, file) in logs.enumerated() {
            bytes += try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            if bytes.last != 0x0A { bytes.append(0x0A) }
            switch n % 4 {
            case 0: bytes += Array(repeating: UInt8(ascii: "x"), count: MailLogDecoder.maxLineLength + 10) + [0x0A]
            case 1: bytes += Array("Jan  2 03:04:05 mx postfix/smtpd[1]: AB12CD34EF: client=x[192.0.2.1]\r\n\n".utf8)
            case 2: bytes += Array("Jan  2 03:04:06 mx postfix/smtpd[1]: \0binary\n".utf8)
            default: bytes += Array(repeating: UInt8(ascii: "y"), count: 3 * MailLogDecoder.maxLineLength) + [0x0A]
            }
        }
        bytes += Array("Jan  2 03:04:07 mx postfix/qmgr[2]: AB12CD34EF: from=<last@example.org>, size=1, nrcpt=1 (queue active)".utf8)
        return bytes
    }

    @Test func sameAsTheDecoderWhateverTheChunkingAndThreads() throws {
        let bytes = try MailLogFeedTests.mixedLog()
        let all: @Sendable (Evidence, ArraySlice<UInt8>) -> Bool = { _, _ in true }
        let expected = MailLogFeedTests.reference(bytes, wanted: all)
        #expect(expected.observables.count > 100)
        var rng = SystemRandomNumberGenerator()
        for (threads, pieceSize) in [(1, 1 << 16), (2, 1 << 16), (2, 1), (2, 700), (2, 5000), (3, 2000)] {
            for chunks in [[bytes.count], [1 << 20], [4096], [1, 3, 17], (0..<8).map { _ in Int.random(in: 1...9000, using: &rng) }] {
                let got = try MailLogFeedTests.fed(bytes, threads: threads, pieceSize: pieceSize, chunks: chunks, wanted: all)
                #expect(got == expected, "threads \(threads), pieces of \(pieceSize), chunks \(chunks.prefix(8))")
            }
        }
    }

    @Test func theWantedFilterIsAppliedAsTheDecoderAppliesIt() throws {
        let bytes = try MailLogFeedTests.mixedLog()
        let some: @Sendable (Evidence, ArraySlice<UInt8>) -> Bool = { evidence, value in
            evidence == .maillogClient ? value.last.map { $0 & 1 == 1 } ?? false : value.contains(UInt8(ascii: "e"))
        }
        let expected = MailLogFeedTests.reference(bytes, wanted: some)
        let got = try MailLogFeedTests.fed(bytes, threads: 2, pieceSize: 300, chunks: [777, 4096, 10], wanted: some)
        #expect(got == expected)
        let all = MailLogFeedTests.reference(bytes, wanted: { _, _ in true })
        #expect(expected.observables.count < all.observables.count)
    }

    /// An error while applying (a store failing under the scan) reaches the
    /// caller; the helper thread is done with the run before it does.
    @Test func anErrorWhileApplyingStopsTheFeedCleanly() throws {
        struct Stop: Error {}
        let bytes = try MailLogFeedTests.mixedLog()
        var feed = MailLogFeed(decoder: MailLogDecoder(source: "feed", clock: MailLogFeedTests.clock), threads: 2, pieceSize: 100, wanted: { _, _ in true })
        var seen = 0
        #expect(throws: Stop.self) {
            var i = 0
            while i < bytes.count {
                let end = min(bytes.count, i + 2048)
                try feed.feed(bytes[i..<end]) { _ in
                    seen += 1
                    if seen == 50 { throw Stop() }
                }
                i = end
            }
        }
        #expect(seen == 50)
    }

    /// A file scan goes through the feed: the same observables on one thread and two.
    @Test func fileScansAgreeOnOneAndTwoThreads() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("geneva-feed-\(UUID().uuidString).log").path
        try Data(try MailLogFeedTests.mixedLog()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var results: [[String]] = []
        for threads in [1, 2] {
            var out: [String] = []
            let summary = try CaptureScanner.observables(
                path: path, options: ScanOptions(clock: MailLogFeedTests.clock, threads: threads), chunkSize: 5000
            ) { out.append(MailLogFeedTests.line($0)) }
            #expect(summary.kind == .maillog)
            results.append(out + ["\(summary.records) \(summary.observables) \(summary.anomalies.counts.sorted { $0.key < $1.key })"])
        }
        #expect(results[0] == results[1])
        let bytes = try MailLogFeedTests.mixedLog()
        #expect(results[0].dropLast() == MailLogFeedTests.reference(bytes, wanted: { _, _ in true }).observables[...])
    }
}
