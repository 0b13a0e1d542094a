// The compiled, immutable multi-literal matcher: block and streaming search
// over one `Sendable` value. See docs/matcher-design.md.

/// A compiled set of literals (1 to millions), each with its own id and case
/// rule. Reports every (id, end offset) pair, overlapping occurrences and
/// occurrences that straddle chunk boundaries included, each exactly once.
///
/// Streaming: the caller keeps a 16-byte `StreamState` per stream and passes
/// the stream's chunks in order; nothing else is kept between chunks. Within
/// one chunk, matches are reported in no particular order.
public struct PatternMatcher: Sendable {
    /// The engine in use (never `.auto`).
    public let engine: MatcherEngine
    /// One line saying which representation was chosen and why (for logs).
    public let plan: String
    /// Literals compiled.
    public let literalCount: Int
    let caselessAutomaton: Automaton?
    let exactAutomaton: Automaton?
    let filter: AnchorFilter?
    /// Chunks up to this length are walked by the automata alone.
    let smallChunk: Int

    /// Bytes of per-stream state (pinned at 16 by a test).
    public static let streamStateSize = MemoryLayout<StreamState>.size

    /// Compiles `literals`. Throws for an empty literal.
    public init(_ literals: [Literal], engine requested: MatcherEngine = .auto) throws {
        guard literals.count < Int(UInt32.max) else {
            throw MatcherError(.tooManyLiterals, "too many literals: \(literals.count)")
        }
        var caselessBytes: [ArraySlice<UInt8>] = [], caselessIDs: [UInt32] = []
        var exactBytes: [ArraySlice<UInt8>] = [], exactIDs: [UInt32] = []
        var short = 0
        for (i, lit) in literals.enumerated() {
            guard !lit.bytes.isEmpty else {
                throw MatcherError(.emptyLiteral, "literal \(i) (id \(lit.id)) is empty")
            }
            guard lit.bytes.count <= Int(UInt16.max) else {
                throw MatcherError(.literalTooLong, "literal \(i) (id \(lit.id)) is too long: \(lit.bytes.count) bytes")
            }
            if lit.bytes.count < 4 { short += 1 }
            if lit.caseless {
                caselessBytes.append(lit.bytes.map(foldASCII)[...])
                caselessIDs.append(lit.id)
            } else {
                exactBytes.append(lit.bytes[...])
                exactIDs.append(lit.id)
            }
        }
        caselessAutomaton = caselessBytes.isEmpty ? nil : Automaton(literals: caselessBytes, ids: caselessIDs, caseless: true)
        exactAutomaton = exactBytes.isEmpty ? nil : Automaton(literals: exactBytes, ids: exactIDs, caseless: false)
        literalCount = literals.count
        let maxLength = max(caselessAutomaton?.maxLength ?? 0, exactAutomaton?.maxLength ?? 0)
        smallChunk = 2 * maxLength
        // Literals of 1-3 bytes make the anchor filter fire on most bytes; with
        // more than a few of them the plain automaton is faster.
        let chosen: MatcherEngine
        let reason: String
        switch requested {
        case .auto:
            if short > 64 {
                chosen = .automaton
                reason = "auto: \(short) literals shorter than 4 bytes defeat the anchor filter"
            } else if literals.isEmpty {
                chosen = .automaton
                reason = "auto: no literals"
            } else {
                chosen = .filtered
                reason = "auto: anchor filter (\(short) literals shorter than 4 bytes)"
            }
        default:
            chosen = requested
            reason = "requested"
        }
        engine = chosen
        filter = chosen == .filtered ? AnchorFilter(literals: literals) : nil
        var plan = "\(chosen.rawValue) engine (\(reason)); \(literals.count) literals"
        if let c = caselessAutomaton { plan += ", caseless automaton \(c.stateCount) states" }
        if let e = exactAutomaton { plan += ", exact automaton \(e.stateCount) states" }
        if let f = filter {
            let c = f.windowCounts
            plan += ", anchor windows: \(c[0]) of 8 bytes, \(c[1]) + \(c[2]) + \(c[3]) of 4 bytes at stride 4, 2, 1, \(f.shortCount) literals under 4 bytes; filter bitmap \(f.bitmap.count * 8) bytes\(f.twoBits ? " (two bits per key)" : "")"
            if !f.secondBitmap.isEmpty { plan += ", second-level bitmap \(f.secondBitmap.count * 8) bytes" }
        }
        plan += ", longest literal \(maxLength) bytes, \(Self.streamStateSize)-byte stream state"
        self.plan = plan
    }

    /// Bytes of the compiled structures the search reads (per-stream state
    /// excluded: `streamStateSize` per stream on top).
    public var memoryUsage: Int {
        (caselessAutomaton?.memoryUsage ?? 0) + (exactAutomaton?.memoryUsage ?? 0) + (filter?.memoryUsage ?? 0)
    }

    /// Every match in `bytes`, as one block (offsets from 0).
    public func scan(_ bytes: UnsafeRawBufferPointer, _ onMatch: (Match) throws -> Void) rethrows {
        var state = StreamState()
        try scan(bytes, state: &state, onMatch)
    }

    /// Every match in `bytes`, sorted by end offset then id.
    public func matches(in bytes: [UInt8]) -> [Match] {
        var found: [Match] = []
        bytes.withUnsafeBytes { scan($0) { found.append($0) } }
        return found.sorted()
    }

    /// Scans the next chunk of a stream: reports every match that ends inside
    /// `chunk` (offsets absolute in the stream) and advances `state`.
    public func scan(_ chunk: UnsafeRawBufferPointer, state: inout StreamState, _ onMatch: (Match) throws -> Void) rethrows {
        let n = chunk.count
        guard n > 0, let raw = chunk.baseAddress else { return }
        let p = raw.assumingMemoryBound(to: UInt8.self)
        let base = state.offset
        if engine == .automaton || n <= smallChunk {
            if let a = caselessAutomaton { state.caselessState = try a.walkAll(p, n, from: state.caselessState, base: base, onMatch) }
            if let a = exactAutomaton { state.exactState = try a.walkAll(p, n, from: state.exactState, base: base, onMatch) }
        } else {
            // The filter first: it reads the chunk front to back, so the
            // bytes the boundary walks read are in cache afterwards (a cold
            // packet read from its end first measured 10-15 % slower).
            // filter != nil whenever engine == .filtered (init).
            try filter!.scan(p, n, base: base, onMatch)
            if let a = caselessAutomaton { state.caselessState = try a.walkBoundaries(p, n, from: state.caselessState, base: base, onMatch) }
            if let a = exactAutomaton { state.exactState = try a.walkBoundaries(p, n, from: state.exactState, base: base, onMatch) }
        }
        state.offset = base &+ UInt64(n)
    }
}
