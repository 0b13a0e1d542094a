#if canImport(Glibc)
import Glibc
#endif
import AppProtocols
import MailLogs
import PacketDecoding
import TelemetryModel
import ThreatIntel
import WireParsing

/// libFuzzer entry point for every decoder: the first byte picks the
/// decoder, the rest is its input, fed in two chunks split at a point chosen
/// by the second byte (so chunk boundaries are fuzzed too). A trap, crash or
/// sanitizer report is a bug; counted anomalies are the expected outcome.
/// How to run it: docs/decoders.md.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    runDecoder(selector: fixedDecoder ?? bytes[0], split: Int(bytes[1]), input: Array(bytes[2...]))
    return 0
}

/// `GENEVA_FUZZ_DECODER=N` pins the decoder (one fuzzing run per decoder);
/// unset, the input's first byte chooses.
let fixedDecoder: UInt8? = {
    guard let text = getenv("GENEVA_FUZZ_DECODER") else { return nil }
    return UInt8(String(cString: text))
}()

func runDecoder(selector: UInt8, split: Int, input: [UInt8]) {
    let cut = input.isEmpty ? 0 : split % (input.count + 1)
    let chunks = [input[0..<cut], input[cut...]]
    switch selector % 8 {
    case 0:  // pcap / pcapng + link, IP, fragments, TCP, UDP
        var reader = CaptureReader()
        var packets = PacketDecoder()
        var tcp = TCPReassembler()
        for chunk in chunks {
            try? reader.feed(chunk) { record in
                if case .tcp(let s) = packets.decode(record.data, linkType: record.linkType, time: record.timestampNanoseconds) {
                    tcp.add(s, time: record.timestampNanoseconds) { _, _ in }
                }
            }
        }
        try? reader.finish()
        packets.finish()
        tcp.finish { _, _ in }
    case 1:  // packet decoder on one frame, every link type
        var packets = PacketDecoder()
        for link: UInt32 in [0, 1, 101, 108, 113, 228, 229, 276] { _ = packets.decode(input[...], linkType: link) }
    case 2:
        var dns = DNSParser()
        _ = dns.parse(input[...])
        var stream = DNSStreamParser()
        for chunk in chunks { stream.feed(chunk) { _ in } }
    case 3:
        var tls = TLSClientHelloParser()
        for chunk in chunks { tls.feed(chunk) { _ in } }
    case 4:
        var http = HTTPRequestParser()
        for chunk in chunks { http.feed(chunk) { _ in } }
        var smtp = SMTPClientParser()
        for chunk in chunks { smtp.feed(chunk) { _ in } }
    case 5:  // mail logs
        var log = MailLogDecoder(source: "fuzz", clock: LogClock(reference: Timestamp(seconds: 1_800_000_000)))
        for chunk in chunks { log.feed(chunk) { _ in } }
        log.finish { _ in }
    case 6:  // intel: JSON (STIX, MISP), Zeek, CSV
        _ = try? IntelImporter.parse(input, source: "fuzz")
    default:  // STIX patterns and CSV
        _ = try? STIXPattern.parse(String(decoding: input, as: UTF8.self))
        _ = CSVReader.records(input)
    }
}
