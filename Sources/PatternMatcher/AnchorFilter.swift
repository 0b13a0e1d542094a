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

/// Open-addressing map from a 64-bit key to a list of `UInt32` values, frozen
/// into flat arrays. A slot is empty exactly when its value range is empty.
struct KeyedLists: Sendable {
    let keys: [UInt64]
    let slotStart: [UInt32]
    let values: [UInt32]
    let mask: Int

    init(_ pairs: [(key: UInt64, value: UInt32)]) {
        var distinct: [UInt64: [UInt32]] = [:]
        for (k, v) in pairs { distinct[k, default: []].append(v) }
        var capacity = 16
        while capacity < distinct.count * 2 { capacity *= 2 }
        mask = capacity - 1
        var keys = [UInt64](repeating: 0, count: capacity)
        var lists = [[UInt32]](repeating: [], count: capacity)
        for (k, list) in distinct {
            var h = KeyedLists.slot(k, mask)
            while !lists[h].isEmpty { h = (h + 1) & mask }
            keys[h] = k
            lists[h] = list
        }
        var slotStart: [UInt32] = [0]
        var values: [UInt32] = []
        slotStart.reserveCapacity(capacity + 1)
        values.reserveCapacity(pairs.count)
        for list in lists {
            values.append(contentsOf: list)
            slotStart.append(UInt32(values.count))
        }
        self.keys = keys
        self.slotStart = slotStart
        self.values = values
    }

    @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0xD6E8_FEB8_6659_FD93) >> 32) & mask
    }

    /// The value range for `key` (empty when absent).
    @inline(__always)
    func range(_ key: UInt64) -> Range<Int> {
        var h = KeyedLists.slot(key, mask)
        while true {
            let lo = Int(slotStart[h]), hi = Int(slotStart[h + 1])
            if lo == hi { return 0..<0 }
            if keys[h] == key { return lo..<hi }
            h = (h + 1) & mask
        }
    }

    var memoryUsage: Int { keys.count * 8 + slotStart.count * 4 + values.count * 4 }
}

/// Literal store plus anchor tables of the filtered engine.
struct AnchorFilter: Sendable {
    /// Literal `i`: bytes `bytes[start[i] ..< start[i] + length[i]]` (folded when
    /// caseless), reported as `ids[i]`; its anchor ends `anchorEnd[i]` bytes
    /// after the literal's start.
    let bytes: [UInt8]
    let start: [UInt32]
    let length: [UInt32]
    let ids: [UInt32]
    let caseless: [Bool]
    let anchorEnd: [UInt32]
    /// Bitmap of `1 << bitsLog2` bits; anchors of 8 bytes set `longSlot`, of
    /// 4 bytes `mediumSlot`.
    let bitmap: [UInt64]
    let shift: UInt64
    let long: KeyedLists
    let medium: KeyedLists
    let short: KeyedLists
    /// Indexed by the last two folded bytes (`w & 0xFFFF`): bit 0 = a 1-byte
    /// literal ends here, bit 1 = a 2-byte one, bit 2 = a 3-byte one may.
    let shortFlags: [UInt8]
    let hasLong: Bool
    let hasMedium: Bool
    let hasShort: Bool
    let counts: (long: Int, medium: Int, short: Int)

    static let longMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let mediumMultiplier: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    @inline(__always) static func longSlot(_ w: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (w &* longMultiplier) >> shift)
    }

    @inline(__always) static func mediumSlot(_ w: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: ((w & 0xFFFF_FFFF) &* mediumMultiplier) >> shift)
    }

    /// `w` after shifting in `window` (folded bytes, oldest first).
    static func register(_ window: ArraySlice<UInt8>) -> UInt64 {
        window.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    init(literals: [Literal]) {
        var bytes: [UInt8] = []
        var start: [UInt32] = [], length: [UInt32] = [], ids: [UInt32] = []
        var caseless: [Bool] = [], anchorEnd: [UInt32] = []
        var longPairs: [(key: UInt64, value: UInt32)] = []
        var mediumPairs: [(key: UInt64, value: UInt32)] = []
        var shortPairs: [(key: UInt64, value: UInt32)] = []
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
            if n >= 4 {
                let q = n >= 8 ? 8 : 4
                var best = 0, bestScore = Int.min
                for a in 0...(n - q) {
                    let window = folded[a..<(a + q)]
                    let key = AnchorFilter.register(window) | (q == 4 ? 1 << 63 : 0)
                    let rarity = window.reduce(0) { $0 + AnchorFilter.rarity[Int($1)] }
                    // Spread literals over distinct anchors: a shared anchor is
                    // verified once per literal on every hit.
                    let score = rarity * 4 - 3 * (used[key].map { Int.bitWidth - $0.leadingZeroBitCount } ?? 0)
                    if score > bestScore { bestScore = score; best = a }
                }
                let window = folded[best..<(best + q)]
                let value = AnchorFilter.register(window)
                used[value | (q == 4 ? 1 << 63 : 0), default: 0] += 1
                anchorEnd.append(UInt32(best + q))
                if q == 8 { longPairs.append((value, index)) } else { mediumPairs.append((value, index)) }
            } else {
                anchorEnd.append(UInt32(n))
                let value = AnchorFilter.register(folded[...])
                shortPairs.append((value | UInt64(n) << 56, index))
                switch n {
                case 1:
                    for prev in 0..<256 { shortFlags[prev << 8 | Int(folded[0])] |= 1 }
                case 2:
                    shortFlags[Int(folded[0]) << 8 | Int(folded[1])] |= 2
                default:
                    shortFlags[Int(folded[1]) << 8 | Int(folded[2])] |= 4
                }
            }
        }
        // ~64 bits per anchor: a random position hits a set bit with
        // probability ~1.5 % per table; bounded at 2^24 bits (2 MiB).
        let anchors = longPairs.count + mediumPairs.count
        var log2 = 12
        while log2 < 24 && (1 << log2) < anchors * 64 { log2 += 1 }
        let shift = UInt64(64 - log2)
        var bitmap = [UInt64](repeating: 0, count: (1 << log2) / 64)
        for (key, _) in longPairs {
            let s = AnchorFilter.longSlot(key, shift)
            bitmap[s >> 6] |= 1 << UInt64(s & 63)
        }
        for (key, _) in mediumPairs {
            let s = AnchorFilter.mediumSlot(key, shift)
            bitmap[s >> 6] |= 1 << UInt64(s & 63)
        }
        self.bytes = bytes
        self.start = start
        self.length = length
        self.ids = ids
        self.caseless = caseless
        self.anchorEnd = anchorEnd
        self.bitmap = bitmap
        self.shift = shift
        self.long = KeyedLists(longPairs)
        self.medium = KeyedLists(mediumPairs)
        self.short = KeyedLists(shortPairs)
        self.hasLong = !longPairs.isEmpty
        self.hasMedium = !mediumPairs.isEmpty
        self.hasShort = !shortPairs.isEmpty
        self.shortFlags = shortPairs.isEmpty ? [] : shortFlags
        self.counts = (longPairs.count, mediumPairs.count, shortPairs.count)
    }

    var memoryUsage: Int {
        bytes.count + 4 * (start.count + length.count + ids.count + anchorEnd.count) + caseless.count
            + bitmap.count * 8 + long.memoryUsage + medium.memoryUsage + short.memoryUsage + shortFlags.count
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
