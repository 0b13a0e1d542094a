// The prefilter of the filtered engine: every literal gets one anchor, a
// q-gram of its (folded) bytes chosen to be rare in network text; the search
// loop keeps the last 8 folded bytes in a register and tests, at every
// position, a hash of the last 8 bytes (literals of 8+ bytes) and of the last
// 4 bytes (4-7 bytes) against one bitmap. A set bit sends the position to the
// outlined verifier, which looks the exact anchor up and compares whole
// literals. A literal's anchor occurs wherever the literal does, so the
// filter never misses; collisions only cost a lookup (prefilter contract of
// aho-corasick's `util/prefilter.rs`). Literals of 1-3 bytes go through a
// 64 Ki-entry table indexed by the last two bytes.

/// One anchor window of one literal, with an 8-byte pre-check so that most
/// wrong candidates are rejected without touching the literal's bytes.
struct AnchorEntry: Sendable {
    /// The literal's first min(8, length) bytes, masked by `headMask`.
    var head: UInt64
    /// Case-masked (caseless) or all-ones (exact) over the first min(8, length) bytes.
    var headMask: UInt64
    /// Literal index in the filter's store.
    var literal: UInt32
    /// The window ends this many bytes after the literal's start.
    var anchorEnd: UInt32
}

/// Open-addressing map from a 64-bit key to a run of `AnchorEntry`, frozen
/// into two flat arrays (a lookup touches one slot and one run).
struct KeyedLists: Sendable {
    struct Slot: Sendable {
        var key: UInt64
        var start: UInt32
        /// 0 = empty slot.
        var count: UInt32
    }

    let slots: [Slot]
    let entries: [AnchorEntry]
    let mask: Int

    init(_ pairs: [(key: UInt64, entry: AnchorEntry)]) {
        let sorted = pairs.sorted { $0.key < $1.key }
        var distinct = 0
        for i in sorted.indices where i == 0 || sorted[i].key != sorted[i - 1].key { distinct += 1 }
        var capacity = 16
        while capacity * 3 < distinct * 4 { capacity *= 2 }  // load factor <= 0.75
        mask = capacity - 1
        var slots = [Slot](repeating: Slot(key: 0, start: 0, count: 0), count: capacity)
        var entries: [AnchorEntry] = []
        entries.reserveCapacity(sorted.count)
        var i = 0
        while i < sorted.count {
            var j = i
            while j < sorted.count, sorted[j].key == sorted[i].key {
                entries.append(sorted[j].entry)
                j += 1
            }
            var h = KeyedLists.slot(sorted[i].key, mask)
            while slots[h].count != 0 { h = (h + 1) & mask }
            slots[h] = Slot(key: sorted[i].key, start: UInt32(i), count: UInt32(j - i))
            i = j
        }
        self.slots = slots
        self.entries = entries
    }

    @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0xD6E8_FEB8_6659_FD93) >> 32) & mask
    }

    /// The entry range for `key` (empty when absent).
    @inline(__always)
    func range(_ key: UInt64) -> Range<Int> {
        var h = KeyedLists.slot(key, mask)
        while true {
            let slot = slots[h]
            if slot.count == 0 { return 0..<0 }
            if slot.key == key { return Int(slot.start)..<Int(slot.start + slot.count) }
            h = (h + 1) & mask
        }
    }

    var memoryUsage: Int {
        slots.count * MemoryLayout<Slot>.stride + entries.count * MemoryLayout<AnchorEntry>.stride
    }
}

/// The anchor classes: which window length a literal is anchored by and how
/// often the search loop probes for it. A class with stride s anchors each
/// literal by s consecutive windows, so that whatever the alignment, one of
/// them ends at a probed position (and exactly one: no duplicate reports).
enum AnchorClass: Int, CaseIterable, Sendable {
    /// 11+ bytes: 4 windows of 8 bytes, probed every 4th position.
    case long = 0
    /// 7-10 bytes: 4 windows of 4 bytes, probed every 4th position.
    case medium4
    /// 5-6 bytes: 2 windows of 4 bytes, probed every 2nd position.
    case medium2
    /// 4 bytes: the literal itself, probed at every position.
    case medium1

    var window: Int { self == .long ? 8 : 4 }
    var stride: Int {
        switch self {
        case .long, .medium4: 4
        case .medium2: 2
        case .medium1: 1
        }
    }

    @inline(__always) var multiplier: UInt64 {
        switch self {
        case .long: 0x9E37_79B9_7F4A_7C15
        case .medium4: 0xC2B2_AE3D_27D4_EB4F
        case .medium2: 0x1656_67B1_9E37_79F9
        case .medium1: 0x27D4_EB2F_1656_67C5
        }
    }

    init(length: Int) {
        switch length {
        case 11...: self = .long
        case 7...10: self = .medium4
        case 5...6: self = .medium2
        default: self = .medium1
        }
    }
}

/// Literal store plus anchor tables of the filtered engine.
struct AnchorFilter: Sendable {
    /// Literal `i`: bytes `bytes[start[i] ..< start[i] + length[i]]` (folded when
    /// caseless), reported as `ids[i]`.
    let bytes: [UInt8]
    let start: [UInt32]
    let length: [UInt32]
    let ids: [UInt32]
    let caseless: [Bool]
    /// Blocked Bloom filter over all windows: a key sets two bits of one
    /// 64-bit word (`probeMask`); `wordMask + 1` words.
    let bitmap: [UInt64]
    let wordMask: Int
    /// Window key -> anchor entries, one table per `AnchorClass`.
    let longTable: KeyedLists, medium4Table: KeyedLists, medium2Table: KeyedLists, medium1Table: KeyedLists
    let short: KeyedLists
    /// Indexed by the last two case-masked bytes (older one low): bit 0 = a 1-byte
    /// literal ends here, bit 1 = a 2-byte one, bit 2 = a 3-byte one may.
    let shortFlags: [UInt8]
    let hasShort: Bool
    let hasMedium2: Bool
    let hasMedium1: Bool
    let classCounts: [Int]
    let shortCount: Int

    /// The word and the two bits a key of `cls` sets. Constant shifts only:
    /// the top 24 bits of the product pick the word, the next 12 the bits.
    @inline(__always)
    static func probe(_ key: UInt64, _ multiplier: UInt64, _ wordMask: Int) -> (word: Int, bits: UInt64) {
        let h = key &* multiplier
        let word = Int(truncatingIfNeeded: h &>> 40) & wordMask
        let bits = (1 as UInt64) &<< ((h &>> 34) & 63) | (1 as UInt64) &<< ((h &>> 28) & 63)
        return (word, bits)
    }

    /// Clears bit 5 of every byte: `a-z` meets `A-Z`, so a key is the same
    /// for every spelling of a caseless literal. Other pairs merge too (`.` and
    /// 0x0E, `0` and 0x10): extra candidates, never a miss.
    static let caseMask: UInt64 = 0xDFDF_DFDF_DFDF_DFDF

    /// Filter key of up to 8 bytes: little-endian (oldest byte lowest, as an
    /// unaligned load of the window gives it), case-masked.
    static func key(_ window: ArraySlice<UInt8>) -> UInt64 {
        var k: UInt64 = 0
        for (j, b) in window.enumerated() { k |= UInt64(b) << UInt64(8 * j) }
        return k & caseMask
    }

    init(literals: [Literal]) {
        var bytes: [UInt8] = []
        var start: [UInt32] = [], length: [UInt32] = [], ids: [UInt32] = [], caseless: [Bool] = []
        var pairs = [[(key: UInt64, entry: AnchorEntry)]](repeating: [], count: AnchorClass.allCases.count)
        var shortPairs: [(key: UInt64, entry: AnchorEntry)] = []
        var used: [UInt64: Int] = [:]
        var shortFlags = [UInt8](repeating: 0, count: 1 << 16)
        for lit in literals {
            let index = UInt32(ids.count)
            let folded = lit.bytes.map(foldASCII)
            start.append(UInt32(bytes.count))
            bytes.append(contentsOf: lit.caseless ? folded : lit.bytes)
            length.append(UInt32(lit.bytes.count))
            ids.append(lit.id)
            caseless.append(lit.caseless)
            let n = folded.count
            let headBytes = min(8, n)
            let headMask = (headBytes == 8 ? UInt64.max : (1 << UInt64(8 * headBytes)) - 1)
                & (lit.caseless ? AnchorFilter.caseMask : UInt64.max)
            let head = lit.bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) } & headMask
            func entry(_ anchorEnd: Int) -> AnchorEntry {
                AnchorEntry(head: head, headMask: headMask, literal: index, anchorEnd: UInt32(anchorEnd))
            }
            if n >= 4 {
                let cls = AnchorClass(length: n)
                let q = cls.window, s = cls.stride
                let tag = UInt64(cls.rawValue) << 60
                // The run of s consecutive windows that is rarest in network
                // text, preferring windows few other literals use.
                var best = 0, bestScore = Int.min
                for a in 0...(n - q - s + 1) {
                    var score = 0
                    for k in 0..<s {
                        let window = folded[(a + k)..<(a + k + q)]
                        let shared = used[AnchorFilter.key(window) | tag] ?? 0
                        score += window.reduce(0) { $0 + AnchorFilter.rarity[Int($1)] } * 4
                            - 3 * (Int.bitWidth - shared.leadingZeroBitCount)
                    }
                    if score > bestScore { bestScore = score; best = a }
                }
                for k in 0..<s {
                    let key = AnchorFilter.key(folded[(best + k)..<(best + k + q)])
                    used[key | tag, default: 0] += 1
                    pairs[cls.rawValue].append((key, entry(best + k + q)))
                }
            } else {
                let value = AnchorFilter.key(folded[...])
                shortPairs.append((value | UInt64(n) << 56, entry(n)))
                // Index: the last two key bytes, older one low.
                let m = folded.map { Int($0 & 0xDF) }
                switch n {
                case 1:
                    for prev in 0..<256 { shortFlags[prev | m[0] << 8] |= 1 }
                case 2:
                    shortFlags[m[0] | m[1] << 8] |= 2
                default:
                    shortFlags[m[1] | m[2] << 8] |= 4
                }
            }
        }
        // ~32 bits per window, two bits set per window: a random key finds
        // both of its bits set with probability ~0.4 %. At most 2^24 words.
        let windows = pairs.reduce(0) { $0 + $1.count }
        var words = 64
        while words < 1 << 24 && words * 64 < windows * 32 { words *= 2 }
        var bitmap = [UInt64](repeating: 0, count: words)
        for cls in AnchorClass.allCases {
            for (key, _) in pairs[cls.rawValue] {
                let (word, bits) = AnchorFilter.probe(key, cls.multiplier, words - 1)
                bitmap[word] |= bits
            }
        }
        self.bytes = bytes
        self.start = start
        self.length = length
        self.ids = ids
        self.caseless = caseless
        self.bitmap = bitmap
        self.wordMask = words - 1
        self.longTable = KeyedLists(pairs[0])
        self.medium4Table = KeyedLists(pairs[1])
        self.medium2Table = KeyedLists(pairs[2])
        self.medium1Table = KeyedLists(pairs[3])
        self.short = KeyedLists(shortPairs)
        self.hasShort = !shortPairs.isEmpty
        self.hasMedium2 = !pairs[AnchorClass.medium2.rawValue].isEmpty
        self.hasMedium1 = !pairs[AnchorClass.medium1.rawValue].isEmpty
        self.shortFlags = shortPairs.isEmpty ? [] : shortFlags
        self.classCounts = pairs.map(\.count)
        self.shortCount = shortPairs.count
    }

    var memoryUsage: Int {
        bytes.count + 4 * (start.count + length.count + ids.count) + caseless.count
            + bitmap.count * 8 + longTable.memoryUsage + medium4Table.memoryUsage
            + medium2Table.memoryUsage + medium1Table.memoryUsage + short.memoryUsage + shortFlags.count
    }

    /// How rare a folded byte is in network text (HTTP, DNS, mail logs):
    /// 1 = very common ... 6 = very rare. A window's rarity is the sum.
    static let rarity: [Int] = (0..<256).map { c -> Int in
        switch UInt8(c) {
        case UInt8(ascii: " "), UInt8(ascii: "e"), UInt8(ascii: "t"), UInt8(ascii: "a"), UInt8(ascii: "o"),
             UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "s"), UInt8(ascii: "r"), UInt8(ascii: "."),
             UInt8(ascii: "/"), UInt8(ascii: "0"), UInt8(ascii: "1"), UInt8(ascii: "c"), UInt8(ascii: "m"):
            return 1
        case UInt8(ascii: "l"), UInt8(ascii: "d"), UInt8(ascii: "h"), UInt8(ascii: "u"), UInt8(ascii: "p"),
             UInt8(ascii: "w"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: "2"),
             UInt8(ascii: "g"), UInt8(ascii: "f"), UInt8(ascii: "b"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
            return 2
        case UInt8(ascii: "3")...UInt8(ascii: "9"), UInt8(ascii: "y"), UInt8(ascii: "v"), UInt8(ascii: "k"):
            return 3
        case UInt8(ascii: "x"), UInt8(ascii: "j"), UInt8(ascii: "q"), UInt8(ascii: "z"), UInt8(ascii: "_"),
             UInt8(ascii: "@"), UInt8(ascii: "?"), UInt8(ascii: "&"), UInt8(ascii: ","), UInt8(ascii: ";"),
             UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\""), UInt8(ascii: "'"):
            return 4
        case 0x21...0x7E:
            return 5
        default:
            return 6
        }
    }
}
