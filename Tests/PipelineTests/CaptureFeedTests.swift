import Foundation
import GenevaTestSupport
import Indicators
import PacketDecoding
@testable import Pipeline
import Testing
import TelemetryModel

/// Captures decoded on several threads (`CaptureFeed`: flows dealt out by
/// address pair, one decoder per thread) give what one decoder gives: the
/// same observables (in record order up to the streams flushed at the end,
/// which come decoder by decoder), counts and anomalies.
@Suite struct CaptureFeedTests {
    static func captures() throws -> [String] {
        let directory = RepoPaths.fixturesReal + "/pcap"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted().map { directory + "/" + $0 }
    }

    struct Outcome: Equatable {
        var ordered: [String]
        var flushed: [String]
        var summary: String
    }

    static func line(_ o: Observable) -> String { "\(o.offset) \(o.time) \(o.evidence.rawValue) \(o.key) \(o.value)" }

    static func scan(_ path: String, threads: Int, chunk: Int, payload: PayloadMatcher?) throws -> Outcome {
        var out: [String] = []
        let summary = try CaptureScanner.observables(
            path: path, options: ScanOptions(clock: .init(reference: Timestamp(seconds: 1_800_000_000)), payload: payload, threads: threads),
            chunkSize: chunk
        ) { out.append(line($0)) }
        // Observables at the end of the file carry the file's size as offset (streams flushed).
        let end = "\(summary.bytes) "
        let flushed = out.filter { $0.hasPrefix(end) }.sorted()
        return Outcome(
            ordered: out.filter { !$0.hasPrefix(end) }, flushed: flushed,
            summary: "\(summary.records) \(summary.observables) \(String(describing: summary.firstTime)) \(String(describing: summary.lastTime)) \(summary.anomalies.counts.sorted { $0.key < $1.key })")
    }

    @Test func everyRealCaptureGivesTheSameOnOneTwoAndThreeThreads() throws {
        var total = 0
        for path in try CaptureFeedTests.captures() {
            let one = try CaptureFeedTests.scan(path, threads: 1, chunk: CaptureScanner.chunkSize, payload: nil)
            total += one.ordered.count + one.flushed.count
            for (threads, chunk) in [(2, CaptureScanner.chunkSize), (2, 1000), (3, 4096), (2, 1)] {
                let got = try CaptureFeedTests.scan(path, threads: threads, chunk: chunk, payload: nil)
                #expect(got == one, "\(path), \(threads) threads, chunks of \(chunk)")
            }
        }
        #expect(total > 300)
    }

    /// Payload matching keeps its per-flow stream state in the decoder that owns the flow.
    @Test func payloadMatchesAreTheSame() throws {
        let indicators = IndicatorSet(
            entries: ["wikipedia.org", "upload.wikimedia.org", "www.google.com", "example.com", "fedoraproject.org"].enumerated().map { i, v in
                IndicatorEntry(indicatorID: Int64(i + 1), kind: .domain, value: v, validFrom: Timestamp(nanoseconds: .min), validUntil: nil)
            })
        let payload = try PayloadMatcher(indicators)
        var hits = 0
        for path in try CaptureFeedTests.captures() {
            let one = try CaptureFeedTests.scan(path, threads: 1, chunk: CaptureScanner.chunkSize, payload: payload)
            let two = try CaptureFeedTests.scan(path, threads: 2, chunk: 3000, payload: payload)
            #expect(two == one, "\(path)")
            hits += (one.ordered + one.flushed).filter { $0.contains(" payload-match ") }.count
        }
        #expect(hits > 0)
    }

    /// Both directions of a flow and every fragment of a datagram go to one decoder.
    @Test func addressPairsAreSymmetric() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let a = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let b = (0..<4).map { _ in UInt8.random(in: 0...255, using: &rng) }
            func ipv4(_ src: [UInt8], _ dst: [UInt8], id: UInt8) -> [UInt8] {
                [0x45, 0, 0, 20, 0, id, 0x20, 0, 64, 17, 0, 0] + src + dst
            }
            let forward = CaptureFeed.share(of: ipv4(a, b, id: 1)[...], linkType: LinkType.raw, among: 7)
            #expect(forward == CaptureFeed.share(of: ipv4(b, a, id: 2)[...], linkType: LinkType.raw, among: 7))
        }
        #expect(PacketDecoder.addressPairHash([0x86, 0xDD][...], linkType: LinkType.raw) == 0)
    }
}
