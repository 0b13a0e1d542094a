import Foundation
import GenevaTestSupport
import MailLogs
import Pipeline
import Testing
import TelemetryModel

@Suite struct InputDetectionTests {
    func temp(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("geneva-\(UUID().uuidString)-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let input = try temp("plain", bytes)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c", input]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](out)
    }

    func observe(_ path: String, chunk: Int = 1 << 20) throws -> ([String], CaptureSummary) {
        var out: [String] = []
        let options = ScanOptions(clock: LogClock(reference: Timestamp(parsing: "2026-11-26")!))
        let summary = try CaptureScanner.observables(path: path, options: options, chunkSize: chunk) { out.append("\($0.evidence.rawValue) \($0.value)") }
        return (out, summary)
    }

    @Test func gzipCapturesAndLogsDecodeLikeThePlainFiles() throws {
        let capture = PacketBuilder.dnsCapture(names: ["a.example", "b.example"])
        let log = Array("Sep  4 01:24:11 mx postfix/smtpd[1]: AB12CD: client=a[192.0.2.1]\n".utf8)
        for plain in [capture, log] {
            let (expected, plainSummary) = try observe(try temp("x", plain))
            let compressed = try gzip(plain)
            #expect(compressed.starts(with: [0x1F, 0x8B]))
            for chunk in [1, 7, 1 << 20] {
                let (got, summary) = try observe(try temp("x.gz", compressed), chunk: chunk)
                #expect(got == expected)
                #expect(summary.kind == plainSummary.kind && summary.anomalies.isEmpty)
            }
            // Two members back to back read as one stream.
            let (twice, _) = try observe(try temp("xx.gz", compressed + compressed))
            #expect(twice.count == 2 * expected.count || plainSummary.kind == .pcap)
        }
    }

    @Test func truncatedAndCorruptGzipAreAnomaliesOrErrors() throws {
        let big = (0..<2000).map { "Sep  4 01:24:11 mx postfix/smtpd[1]: AB\($0)CD: client=a[192.0.2.\($0 % 250)]\n" }.joined()
        let compressed = try gzip(Array(big.utf8))
        let (got, summary) = try observe(try temp("cut.gz", Array(compressed.prefix(compressed.count / 2))))
        #expect(!got.isEmpty && got.count < 2000)
        #expect(summary.anomalies["gzip.truncated"] == 1)
        #expect(throws: ScanError.self) { try observe(try temp("bad.gz", [0x1F, 0x8B, 0x08, 0x00] + Array("garbage".utf8))) }
    }

    @Test func textThatIsNoMailLogIsAnError() throws {
        #expect(throws: ScanError.self) { try observe(try temp("notes.txt", Array("hello\nworld\n".utf8))) }
        #expect(throws: ScanError.self) { try observe(try temp("empty", [])) }
        #expect(throws: ScanError.self) { try observe(try temp("pcapng", [0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0])) }
    }
}
