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
    var anchorEnd: UInt16
    /// The window's stride: it is probed only at chunk-relative ends e with
    /// `e % stride == stride - 1` (`AnchorPlan`).
    var stride: UInt16
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
    /// Whether the keys are 8-byte windows (which second-level hash applies).
    let isLong: Bool

    init(_ pairs: [(key: UInt64, entry: AnchorEntry)], isLong: Bool = false) {
        self.isLong = isLong
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

/// How a literal of 4+ bytes is anchored. With stride s, a literal is
/// anchored by s consecutive windows and the search probes only window ends
/// e with `e % s == s - 1` (chunk-relative), so whatever the alignment exactly
/// one of the windows is probed: no miss, no duplicate report.
/// - 11+ bytes: 4 windows of 8 bytes, stride 4 (the `long` table);
/// - 7-10 bytes: 4 windows of 4 bytes, stride 4;  5-6 bytes: 2 windows of
///   4 bytes, stride 2;  4 bytes: the literal, stride 1 (the `medium` table).
struct AnchorPlan {
    var window: Int
    var stride: Int

    init(length: Int) {
        switch length {
        case 11...: (window, stride) = (8, 4)
        case 7...10: (window, stride) = (4, 4)
        case 5...6: (window, stride) = (4, 2)
        default: (window, stride) = (4, 1)
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
    /// One-bit-per-slot filter over all windows (`bitMask + 1` bits): an
    /// 8-byte window sets `slot(key, longMultiplier)`, a 4-byte one
    /// `slot(key, mediumMultiplier)`.
    let bitmap: [UInt64]
    let bitMask: Int
    /// Second-level bitmap (`secondMask + 1` bits, other multipliers),
    /// checked before a table; empty when the first holds ~256 bits per window.
    let secondBitmap: [UInt64]
    let secondMask: Int
    /// Whether the first-level bitmap sets two bits per key (`setBits`).
    let twoBits: Bool
    /// Window key -> anchor entries.
    let longTable: KeyedLists
    let mediumTable: KeyedLists
    let short: KeyedLists
    /// Indexed by the last two case-masked bytes (older one low): bit 0 = a 1-byte
    /// literal ends here, bit 1 = a 2-byte one, bit 2 = a 3-byte one may.
    let shortFlags: [UInt8]
    let hasShort: Bool
    /// Whether some medium window has stride 2 or 1 (the loop probes the
    /// extra window ends only then).
    let hasStride2: Bool
    let hasStride1: Bool
    /// Windows per kind (long, medium stride 4, 2, 1) and short literals.
    let windowCounts: [Int]
    let shortCount: Int

    static let longMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let mediumMultiplier: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let secondLongMultiplier: UInt64 = 0xD6E8_FEB8_6659_FD93
    static let secondMediumMultiplier: UInt64 = 0xFF51_AFD7_ED55_8CCD
    /// The first-level bitmap's largest size: 512 KiB (half of this
    /// machine's L2) up to 64 Ki windows, 1 MiB above (measured: at 400 Ki
    /// windows the rarer false hits pay for the misses; at 40 Ki the two
    /// sizes tie).
    static func firstLevelBits(windows: Int) -> Int { windows > 1 << 16 ? 1 << 23 : 1 << 22 }

    /// The filter bit of `key`: the top bits of a multiplicative hash
    /// (constant shift; `bitMask` keeps it inside the bitmap).
    @inline(__always)
    static func slot(_ key: UInt64, _ multiplier: UInt64, _ bitMask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* multiplier) &>> 40) & bitMask
    }

    /// Sets the bit(s) of `key` in `bitmap` (a power-of-two count of words):
    /// bit `slot(key, multiplier, bits - 1)` and, with `twoBits`, bit
    /// `(key * multiplier) >> 34 mod 64` of the same word. The search
    /// (`bit(_:_:_:_:)`, `lookup`) tests exactly these.
    static func setBits(_ bitmap: inout [UInt64], _ key: UInt64, _ multiplier: UInt64, _ twoBits: Bool) {
        let b = slot(key, multiplier, bitmap.count * 64 - 1)
        bitmap[b >> 6] |= 1 << UInt64(b & 63)
        if twoBits { bitmap[b >> 6] |= 1 << ((key &* multiplier) >> 34 & 63) }
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
        var longPairs: [(key: UInt64, entry: AnchorEntry)] = []
        var mediumPairs: [(key: UInt64, entry: AnchorEntry)] = []
        var shortPairs: [(key: UInt64, entry: AnchorEntry)] = []
        var windowCounts = [0, 0, 0, 0]
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
            func entry(_ anchorEnd: Int, stride: Int) -> AnchorEntry {
                AnchorEntry(head: head, headMask: headMask, literal: index, anchorEnd: UInt16(anchorEnd), stride: UInt16(stride))
            }
            if n >= 4 {
                let plan = AnchorPlan(length: n)
                let q = plan.window, s = plan.stride
                let tag: UInt64 = q == 8 ? 0 : 1 << 63
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
                    if q == 8 {
                        longPairs.append((key, entry(best + k + q, stride: s)))
                    } else {
                        mediumPairs.append((key, entry(best + k + q, stride: s)))
                    }
                }
                windowCounts[q == 8 ? 0 : [1: 3, 2: 2, 4: 1][s]!] += s
            } else {
                let value = AnchorFilter.key(folded[...])
                shortPairs.append((value | UInt64(n) << 56, entry(n, stride: 1)))
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
        // The search loop's bitmap: ~256 bits per window (a random key hits
        // a set bit with probability ~0.4 %), at most `firstLevelBits` so that
        // it stays in L2 next to the tables. Above that, a second bitmap of
        // ~256 bits per window (other hashes, up to 4 MiB) is checked before
        // a table: a false hit of the first costs an L3 probe, not a table
        // probe in DRAM.
        let windows = longPairs.count + mediumPairs.count
        func bitmap(_ maxBits: Int, _ long: UInt64, _ medium: UInt64, twoBits: Bool) -> [UInt64] {
            var bitCount = 1 << 12
            while bitCount < maxBits && bitCount < windows * 256 { bitCount *= 2 }
            var bitmap = [UInt64](repeating: 0, count: bitCount / 64)
            for (key, _) in longPairs { AnchorFilter.setBits(&bitmap, key, long, twoBits) }
            for (key, _) in mediumPairs { AnchorFilter.setBits(&bitmap, key, medium, twoBits) }
            return bitmap
        }
        let firstBits = AnchorFilter.firstLevelBits(windows: windows)
        // Fewer than 64 bits per window: two bits per key in one word (a
        // blocked Bloom filter, one load) make a false hit ~5x rarer.
        let twoBits = windows * 64 > firstBits
        let first = bitmap(firstBits, AnchorFilter.longMultiplier, AnchorFilter.mediumMultiplier, twoBits: twoBits)
        let second = windows * 256 > first.count * 64
            ? bitmap(1 << 25, AnchorFilter.secondLongMultiplier, AnchorFilter.secondMediumMultiplier, twoBits: true) : []
        self.bytes = bytes
        self.start = start
        self.length = length
        self.ids = ids
        self.caseless = caseless
        self.bitmap = first
        self.bitMask = first.count * 64 - 1
        self.secondBitmap = second
        self.twoBits = twoBits
        self.secondMask = max(0, second.count * 64 - 1)
        self.longTable = KeyedLists(longPairs, isLong: true)
        self.mediumTable = KeyedLists(mediumPairs)
        self.short = KeyedLists(shortPairs)
        self.hasShort = !shortPairs.isEmpty
        self.hasStride2 = windowCounts[2] + windowCounts[3] > 0
        self.hasStride1 = windowCounts[3] > 0
        self.shortFlags = shortPairs.isEmpty ? [] : shortFlags
        self.windowCounts = windowCounts
        self.shortCount = shortPairs.count
    }

    var memoryUsage: Int {
        bytes.count + 4 * (start.count + length.count + ids.count) + caseless.count
            + (bitmap.count + secondBitmap.count) * 8 + longTable.memoryUsage + mediumTable.memoryUsage + short.memoryUsage + shortFlags.count
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
