// geneva-matchbench: the project's side of ../shared/anchors/matcher.
//
//   MATCHBENCH_REPS=2 MATCHBENCH_MODES=block,s64k,s1460,flows,pkt MATCHBENCH_FLOWS=1000 \
//   MATCHBENCH_CASE=mixed geneva-matchbench PATTERNS.tsv CORPUS [CORPUS...]
//
// Reads the pattern file (id = line number, `type<TAB>ci<TAB>literal`),
// compiles a PatternMatcher (timed), and for every corpus: one untimed pass
// per mode that establishes the match count (and checks CORPUS.planted.tsv
// when present), then MATCHBENCH_REPS timed reps per mode, interleaved. One
// JSON line per (corpus, mode) on stdout in the schema of the anchors'
// README; diagnostics on stderr. GENEVA_MATCHER_ENGINE=auto|filtered|automaton
// overrides the engine choice.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PatternMatcher
import WireParsing

func warn(_ message: String) {
    let line = Array("geneva-matchbench: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    warn(message)
    exit(2)
}

func env(_ name: String, _ fallback: String) -> String {
    getenv(name).map { String(cString: $0) } ?? fallback
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(f) }
    fseek(f, 0, SEEK_END)
    let size = ftell(f)
    fseek(f, 0, SEEK_SET)
    guard size >= 0 else { fail("cannot size \(path)") }
    var bytes = [UInt8](repeating: 0, count: size)
    let got = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
    guard got == size else { fail("short read on \(path)") }
    return bytes
}

func basename(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}

func maxRSSKiB() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss)
}

// MARK: patterns

let args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else { fail("usage: geneva-matchbench PATTERNS.tsv CORPUS [CORPUS...]") }
let caseMode = env("MATCHBENCH_CASE", "mixed")
guard ["mixed", "ci", "cs"].contains(caseMode) else { fail("MATCHBENCH_CASE must be mixed, ci or cs") }
let reps = Int(env("MATCHBENCH_REPS", "2")) ?? 2
let modes = env("MATCHBENCH_MODES", "block,s64k,s1460,flows,pkt").split(separator: ",").map(String.init)
let flowCount = Int(env("MATCHBENCH_FLOWS", "1000")) ?? 1000
guard let engine = MatcherEngine(rawValue: env("GENEVA_MATCHER_ENGINE", "auto")) else {
    fail("GENEVA_MATCHER_ENGINE must be auto, filtered or automaton")
}

let patternBytes = readFile(args[0])
var literals: [Literal] = []
var idByLiteral: [[UInt8]: UInt32] = [:]
for (lineNo, line) in patternBytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
    if line.isEmpty && lineNo > 0 { continue }  // the final newline
    let fields = line.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
    guard fields.count == 3, !fields[2].isEmpty else { fail("\(args[0]):\(lineNo + 1): expected type<TAB>ci<TAB>literal") }
    let ci: Bool
    switch caseMode {
    case "ci": ci = true
    case "cs": ci = false
    default: ci = fields[1].elementsEqual("1".utf8)
    }
    let id = UInt32(literals.count)
    literals.append(Literal(Array(fields[2]), id: id, caseless: ci))
    idByLiteral[Array(fields[2])] = id
}

let compileStart = now()
let matcher: PatternMatcher
do { matcher = try PatternMatcher(literals, engine: engine) } catch { fail("\(error)") }
let compileSeconds = now() - compileStart
warn("\(matcher.plan); compiled in \(compileSeconds) s, \(matcher.memoryUsage) bytes")

// MARK: modes

struct Planted {
    var end: UInt64
    var id: UInt32
    var straddles: Bool
}

@MainActor func loadPlanted(_ corpus: String) -> [Planted]? {
    guard access(corpus + ".planted.tsv", R_OK) == 0 else { return nil }
    var out: [Planted] = []
    for line in readFile(corpus + ".planted.tsv").split(separator: 0x0A) {
        let f = line.split(separator: 0x09, maxSplits: 5, omittingEmptySubsequences: false)
        guard f.count == 6, let end = UInt64(String(decoding: f[1], as: UTF8.self)),
              let id = idByLiteral[Array(f[5])] else { continue }
        out.append(Planted(end: end, id: id, straddles: !f[4].elementsEqual("0".utf8)))
    }
    return out
}

/// Runs one mode over the corpus; `onMatch` sees absolute corpus offsets.
@MainActor @inline(never)
func run(_ mode: String, _ corpus: UnsafeRawBufferPointer, _ states: inout [StreamState], _ onMatch: (Match) -> Void) {
    let len = corpus.count
    switch mode {
    case "block":
        matcher.scan(corpus, onMatch)
    case "s64k", "s1460":
        let chunk = mode == "s64k" ? 65536 : 1460
        var state = StreamState()
        var at = 0
        while at < len {
            let end = min(len, at + chunk)
            matcher.scan(UnsafeRawBufferPointer(rebasing: corpus[at..<end]), state: &state, onMatch)
            at = end
        }
    case "pkt":
        var at = 0
        while at < len {
            let end = min(len, at + 1460)
            var state = StreamState()
            state.offset = UInt64(at)
            matcher.scan(UnsafeRawBufferPointer(rebasing: corpus[at..<end]), state: &state, onMatch)
            at = end
        }
    case "flows":
        let f = flowCount
        let seg = len / f
        for i in 0..<f {
            states[i] = StreamState()
            states[i].offset = UInt64(i * seg)
        }
        var round = 0
        var active = true
        while active {
            active = false
            for i in 0..<f {
                let flowEnd = i == f - 1 ? len : (i + 1) * seg
                let at = i * seg + round * 1460
                guard at < flowEnd else { continue }
                active = true
                let end = min(flowEnd, at + 1460)
                matcher.scan(UnsafeRawBufferPointer(rebasing: corpus[at..<end]), state: &states[i], onMatch)
            }
            round += 1
        }
    default:
        fail("unknown mode \(mode)")
    }
}

for corpusPath in args.dropFirst() {
    let corpus = readFile(corpusPath)
    let planted = loadPlanted(corpusPath)
    var states = [StreamState](repeating: StreamState(), count: max(flowCount, 1))
    var counts: [String: Int] = [:]
    var plantedResult: [String: (Int, Int, Int, Int)] = [:]
    var times: [String: [Double]] = [:]
    corpus.withUnsafeBytes { buf in
        for mode in modes {
            var found = Set<Match>()
            var count = 0
            run(mode, buf, &states) { m in
                count += 1
                if planted != nil { found.insert(m) }
            }
            counts[mode] = count
            if let planted {
                let hit = planted.filter { found.contains(Match(id: $0.id, end: $0.end)) }
                plantedResult[mode] = (hit.count, planted.count, hit.filter(\.straddles).count, planted.filter(\.straddles).count)
            }
        }
        for _ in 0..<reps {
            for mode in modes {
                var count = 0
                let t0 = now()
                run(mode, buf, &states) { _ in count += 1 }
                let dt = now() - t0
                if count != counts[mode] { fail("\(mode): count changed between reps (\(count) vs \(counts[mode]!))") }
                times[mode, default: []].append(dt)
            }
        }
    }
    for mode in modes {
        let t = times[mode] ?? []
        let sorted = t.sorted()
        let median = sorted.isEmpty ? 0 : (sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        let chunk = ["block": 0, "s64k": 65536, "s1460": 1460, "flows": 1460, "pkt": 1460][mode] ?? 0
        let flows = mode == "flows" ? flowCount : 1
        let mem = matcher.memoryUsage + (mode == "block" ? 0 : flows * PatternMatcher.streamStateSize)
        var fields: [(String, JSONValue)] = [
            ("kind", .string("scan")), ("tool", .string("geneva")), ("tool_version", .string("0.1")),
            ("variant", .string(matcher.engine.rawValue)), ("mode", .string(mode)), ("semantics", .string("all")),
            ("case", .string(caseMode)), ("patterns", .string(basename(args[0]))), ("n_patterns", .int(literals.count)),
            ("corpus", .string(basename(corpusPath))), ("bytes", .int(corpus.count)), ("chunk", .int(chunk)),
            ("flows", .int(flows)), ("reps", .int(t.count)), ("times_s", .array(t.map(JSONValue.double))),
            ("median_s", .double(median)), ("min_s", .double(sorted.first ?? 0)), ("max_s", .double(sorted.last ?? 0)),
            ("gbps", .double(median > 0 ? Double(corpus.count) / median / 1e9 : 0)), ("matches", .int(counts[mode] ?? 0)),
            ("compile_s", .double(compileSeconds)), ("mem_bytes", .int(mem)), ("maxrss_kib", .int(maxRSSKiB())),
        ]
        if let p = plantedResult[mode] {
            fields += [("planted_found", .int(p.0)), ("planted_total", .int(p.1)),
                       ("straddle_found", .int(p.2)), ("straddle_total", .int(p.3))]
        }
        print(JSONValue.object(fields).serialized())
    }
}
