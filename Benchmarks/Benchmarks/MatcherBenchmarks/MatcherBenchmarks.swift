// The steady-state streaming scan must not allocate: a sensor scans every
// packet of every flow through it. Thresholds/ pins 0 mallocs per scanned
// chunk; speed is measured against the peers by ../shared/anchors/matcher
// (docs/matcher-design.md), not here.
import Benchmark
import PatternMatcher

/// Deterministic indicator-like literals and text (SplitMix64).
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func word(_ alphabet: [UInt8], _ n: Int) -> [UInt8] {
        (0..<n).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
    }
}

func makeCase(literals count: Int) -> (PatternMatcher, [UInt8]) {
    var g = Generator(state: 7)
    let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8), hex = Array("0123456789abcdef".utf8)
    var literals: [Literal] = []
    for i in 0..<count {
        switch i % 3 {
        case 0: literals.append(Literal(g.word(letters, 5 + Int(g.next() % 10)) + Array(".example".utf8), id: UInt32(i), caseless: true))
        case 1: literals.append(Literal(Array("\(g.next() % 256).\(g.next() % 256).\(g.next() % 256).\(g.next() % 256)".utf8), id: UInt32(i), caseless: false))
        default: literals.append(Literal(g.word(hex, 64), id: UInt32(i), caseless: true))
        }
    }
    var text: [UInt8] = []
    while text.count < 1 << 20 {
        text += Array("GET /index.html HTTP/1.1\r\nHost: ".utf8) + g.word(letters, 12) + Array(".com\r\n\r\n".utf8)
        if g.next() % 50 == 0 { text += literals[Int(g.next() % UInt64(count))].bytes + Array(" ".utf8) }
    }
    return (try! PatternMatcher(literals), text)
}

let benchmarks: @Sendable () -> Void = {
    // The static check compares p90 (Thresholds/*.p90.json) with this tolerance.
    let zeroMallocs = BenchmarkThresholds(absolute: [.p90: 0])
    for count in [1_000, 10_000] {
        let (matcher, text) = makeCase(literals: count)
        Benchmark(
            "stream-1460-\(count)",
            configuration: .init(
                metrics: [.mallocCountTotal, .wallClock, .throughput],
                scalingFactor: .kilo,
                thresholds: [.mallocCountTotal: zeroMallocs]
            )
        ) { benchmark in
            var state = StreamState()
            var found = 0
            text.withUnsafeBytes { buffer in
                var at = 0
                for _ in benchmark.scaledIterations {
                    if at + 1460 > buffer.count { at = 0 }
                    matcher.scan(UnsafeRawBufferPointer(rebasing: buffer[at..<(at + 1460)]), state: &state) { _ in found += 1 }
                    at += 1460
                }
            }
            blackHole(found)
        }
    }
}
