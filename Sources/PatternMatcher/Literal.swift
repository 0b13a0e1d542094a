// The public vocabulary of the matcher: what goes in (literals), what comes
// out (matches), the per-stream state a caller keeps per flow, and the
// engine choice. Standard library only (a leaf target).

/// One byte string to find, with the caller's id and its case rule.
///
/// `caseless` means ASCII case folding only (`A-Z` equals `a-z`; bytes
/// >= 0x80 compare exactly), like Hyperscan's `HS_FLAG_CASELESS`.
public struct Literal: Sendable, Hashable {
    public var bytes: [UInt8]
    public var id: UInt32
    public var caseless: Bool

    public init(_ bytes: [UInt8], id: UInt32, caseless: Bool) {
        self.bytes = bytes
        self.id = id
        self.caseless = caseless
    }

    public init(_ text: String, id: UInt32, caseless: Bool) {
        self.init(Array(text.utf8), id: id, caseless: caseless)
    }
}

/// One occurrence: the literal's id and the absolute stream offset one past
/// its last byte (the end offset Hyperscan and aho-corasick report).
public struct Match: Sendable, Hashable, Comparable {
    public var id: UInt32
    public var end: UInt64

    public init(id: UInt32, end: UInt64) {
        self.id = id
        self.end = end
    }

    public static func < (a: Match, b: Match) -> Bool {
        (a.end, a.id) < (b.end, b.id)
    }
}

/// What a caller keeps per stream (per TCP flow, per followed file): the
/// automaton states at the end of the bytes seen so far and their count.
/// No roll buffer and no allocation, so a sensor can hold a million of them.
/// 16 bytes (pinned by a test).
public struct StreamState: Sendable, Hashable {
    /// Bytes of this stream scanned so far (the absolute offset of the next byte).
    public var offset: UInt64
    /// State of the caseless automaton (0 = start state).
    @usableFromInline var caselessState: UInt32
    /// State of the exact automaton (0 = start state).
    @usableFromInline var exactState: UInt32

    public init() {
        offset = 0
        caselessState = 0
        exactState = 0
    }
}

/// How a matcher searches. `auto` picks by the pattern set
/// (`PatternMatcher.plan` says which and why).
public enum MatcherEngine: String, Sendable, CaseIterable {
    /// Choose by the pattern set.
    case auto
    /// Anchor q-gram prefilter + verification inside a chunk, Aho-Corasick
    /// only across chunk boundaries.
    case filtered
    /// Aho-Corasick over every byte (no prefilter).
    case automaton
}

/// Why a pattern set could not be compiled.
public struct MatcherError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case emptyLiteral = "empty_literal"
        case tooManyLiterals = "too_many_literals"
        case literalTooLong = "literal_too_long"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// ASCII case folding of one byte (`A-Z` -> `a-z`, everything else unchanged),
/// branch-free.
@inlinable @inline(__always)
func foldASCII(_ b: UInt8) -> UInt8 {
    // (b - 'A') < 26 exactly for 'A'...'Z'; wrapping subtraction keeps it one compare.
    b | ((b &- 0x41) < 26 ? 0x20 : 0)
}
