import PatternMatcher
import TelemetryModel

/// A payload match that passed the whole-token rules and the validity window.
package struct PayloadHit: Sendable, Equatable, Hashable {
    package var match: IndicatorMatch
    /// Absolute stream offset one past the match's last byte.
    package var end: UInt64
}

/// Per-stream state of payload scanning: the matcher's 16-byte state, which
/// of the last 64 bytes would extend a token at its start (one mask per
/// token class), and the matches whose following bytes have not arrived yet.
package struct PayloadStream: Sendable {
    var matcher = StreamState()
    /// Bit i of lane c: the byte at offset `matcher.offset - 64 + i` extends
    /// a token of class c at its start.
    var history = SIMD8<UInt64>(repeating: 0)
    var pending: [Pending] = []
    /// Matches whose start boundary lay more than 64 bytes before their
    /// chunk: counted as whole tokens (the byte is no longer known).
    package internal(set) var startsAssumed = 0

    struct Pending: Sendable {
        var literal: Int
        var end: UInt64
        var time: Timestamp
        /// The byte at `end`, once seen (it was a '.', so the next decides).
        var follow: UInt8?
    }

    package init() {}

    /// Bytes of the stream scanned so far.
    package var offset: UInt64 { matcher.offset }
}

/// Payload scanning (SPEC §3): every indicator value of a payload kind
/// (domain, ipv4, ipv6, email, url, md5, sha1, sha256) compiled into one
/// streaming ``PatternMatcher``; a match counts only as a whole token — not
/// preceded or followed by a byte that would extend it (`198.51.100.7` does
/// not match in `198.51.100.70`, `evil.com` does not in `notevil.com` but does
/// in `www.evil.com`), also when that byte falls in the next chunk — and only
/// inside the indicator's validity window.
package struct PayloadMatcher: Sendable {
    package let set: IndicatorSet
    let matcher: PatternMatcher
    let refs: [Ref]

    struct Ref: Sendable {
        var slot: Int
        var index: Int
        var tokenClass: TokenClass
        var length: Int
    }

    /// The matcher's plan (for logs).
    package var plan: String { matcher.plan }
    package var memoryUsage: Int { matcher.memoryUsage }

    package init(_ set: IndicatorSet, engine: MatcherEngine = .auto) throws {
        self.set = set
        var literals: [Literal] = []
        var refs: [Ref] = []
        for kind in IndicatorKind.allCases {
            guard let cls = TokenClass(kind) else { continue }
            let k = IndicatorSet.slot(kind)
            let table = set.tables[k]
            for index in 0..<table.ids.count {
                let value = Array(table.values.value(at: index).utf8)
                guard !value.isEmpty else { continue }
                literals.append(Literal(value, id: UInt32(refs.count), caseless: cls.caseless))
                refs.append(Ref(slot: k, index: index, tokenClass: cls, length: value.count))
            }
        }
        self.matcher = try PatternMatcher(literals, engine: engine)
        self.refs = refs
    }

    /// Scans the next chunk of a stream; `time` is the chunk's time (the
    /// sighting time of matches ending in it).
    package func scan(_ chunk: UnsafeRawBufferPointer, stream: inout PayloadStream, at time: Timestamp,
                      _ onHit: (PayloadHit) -> Void) {
        let base = stream.matcher.offset
        let n = chunk.count
        guard n > 0 else { return }
        let bytes = chunk.bindMemory(to: UInt8.self)
        // Matches of earlier chunks waiting for these bytes.
        if !stream.pending.isEmpty {
            let waiting = stream.pending
            stream.pending.removeAll(keepingCapacity: true)
            for p in waiting {
                decideEnd(p.literal, end: p.end, time: p.time, follow: p.follow, bytes, base: base, &stream, onHit)
            }
        }
        let history = stream.history
        var state = stream.matcher
        matcher.scan(chunk, state: &state) { m in
            let ref = refs[Int(m.id)]
            let start = m.end - UInt64(ref.length)
            // Start boundary: the byte before the match.
            if start > 0 {
                let before = start - 1
                let extends: Bool
                if before >= base {
                    extends = TokenClass.startExtends(bytes[Int(before - base)], ref.tokenClass)
                } else if before + 64 >= base {
                    extends = history[ref.tokenClass.rawValue] >> (64 - (base - before)) & 1 != 0
                } else {
                    stream.startsAssumed += 1
                    extends = false
                }
                if extends { return }
            }
            decideEnd(Int(m.id), end: m.end, time: time, follow: nil, bytes, base: base, &stream, onHit)
        }
        stream.matcher = state
        stream.history = TokenClass.shifted(history, by: bytes)
    }

    /// Ends a stream: matches still waiting for a following byte end at the
    /// stream's end, which is a boundary.
    package func finish(_ stream: inout PayloadStream, _ onHit: (PayloadHit) -> Void) {
        for p in stream.pending { report(p.literal, end: p.end, time: p.time, onHit) }
        stream.pending.removeAll()
    }

    /// Every hit in one buffer scanned as a whole stream (tests, small inputs).
    package func hits(in bytes: [UInt8], at time: Timestamp) -> [PayloadHit] {
        var stream = PayloadStream()
        var found: [PayloadHit] = []
        bytes.withUnsafeBytes { scan($0, stream: &stream, at: time) { found.append($0) } }
        finish(&stream) { found.append($0) }
        return found
    }

    /// End boundary of literal `literal` ending at `end`: decided from the
    /// bytes at `end` (and `end + 1` after a '.'), or left pending.
    private func decideEnd(_ literal: Int, end: UInt64, time: Timestamp, follow: UInt8?,
                           _ bytes: UnsafeBufferPointer<UInt8>, base: UInt64,
                           _ stream: inout PayloadStream, _ onHit: (PayloadHit) -> Void) {
        let cls = refs[literal].tokenClass
        let limit = base + UInt64(bytes.count)
        let first: UInt8
        if let follow {
            first = follow
        } else if end >= base && end < limit {
            first = bytes[Int(end - base)]
        } else {
            stream.pending.append(.init(literal: literal, end: end, time: time, follow: nil))
            return
        }
        if TokenClass.endExtends(first, cls) { return }
        if first == UInt8(ascii: "."), cls.dotContinues {
            guard end + 1 >= base, end + 1 < limit else {
                stream.pending.append(.init(literal: literal, end: end, time: time, follow: first))
                return
            }
            if TokenClass.endExtends(bytes[Int(end + 1 - base)], cls) { return }
        }
        report(literal, end: end, time: time, onHit)
    }

    private func report(_ literal: Int, end: UInt64, time: Timestamp, _ onHit: (PayloadHit) -> Void) {
        let ref = refs[literal]
        guard let match = set.hit(ref.slot, ref.index, at: time) else { return }
        onHit(PayloadHit(match: match, end: end))
    }
}

/// Which bytes extend a token of each kind (SPEC §3 whole-token rule).
enum TokenClass: Int, CaseIterable, Sendable {
    case domain, ipv4, ipv6, email, hash, url

    init?(_ kind: IndicatorKind) {
        switch kind {
        case .domain: self = .domain
        case .ipv4: self = .ipv4
        case .ipv6: self = .ipv6
        case .email: self = .email
        case .md5, .sha1, .sha256: self = .hash
        case .url: self = .url
        case .cidr: return nil
        }
    }

    /// Normalised values are lower-case where case does not matter; URLs keep
    /// their path's case.
    var caseless: Bool { self != .url && self != .ipv4 }

    /// Whether "." followed by an end extender extends the token
    /// (`evil.com` in `evil.com.example.org`, `1.2.3.4` in `1.2.3.4.5`).
    var dotContinues: Bool { self == .domain || self == .ipv4 || self == .email || self == .url }

    /// Bit c of entry b: byte b extends a token of class c at its start / end.
    static let startTable: [UInt8] = table(start: true)
    static let endTable: [UInt8] = table(start: false)

    static func startExtends(_ b: UInt8, _ c: TokenClass) -> Bool { startTable[Int(b)] >> UInt8(c.rawValue) & 1 != 0 }
    static func endExtends(_ b: UInt8, _ c: TokenClass) -> Bool { endTable[Int(b)] >> UInt8(c.rawValue) & 1 != 0 }

    private static func table(start: Bool) -> [UInt8] {
        func isAlnum(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
        }
        func isHex(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
        }
        return (0..<256).map { i -> UInt8 in
            let b = UInt8(i)
            let label = isAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
            var bits: UInt8 = 0
            func set(_ c: TokenClass, _ on: Bool) { if on { bits |= 1 << UInt8(c.rawValue) } }
            set(.domain, label)
            set(.ipv4, (0x30...0x39).contains(b) || (start && b == UInt8(ascii: ".")))
            set(.ipv6, isHex(b) || b == UInt8(ascii: ":"))
            set(.email, start ? (isAlnum(b) || Array(".!#$%&'*+/=?^_`{|}~-".utf8).contains(b)) : label)
            set(.hash, isAlnum(b))
            set(.url, start ? (isAlnum(b) || Array("+.-".utf8).contains(b)) : (isAlnum(b) || Array("/?#&=%_~+-".utf8).contains(b)))
            return bits
        }
    }

    /// `history` after the bytes of a chunk: lane c bit i for the byte at
    /// `newOffset - 64 + i`.
    static func shifted(_ history: SIMD8<UInt64>, by bytes: UnsafeBufferPointer<UInt8>) -> SIMD8<UInt64> {
        let n = bytes.count
        var h = n >= 64 ? SIMD8<UInt64>(repeating: 0) : history &>> UInt64(n)
        for j in max(0, n - 64)..<n {
            let flags = startTable[Int(bytes[j])]
            guard flags != 0 else { continue }
            let bit = UInt64(1) << UInt64(64 - (n - j))
            for c in 0..<TokenClass.allCases.count where flags >> UInt8(c) & 1 != 0 { h[c] |= bit }
        }
        return h
    }
}
