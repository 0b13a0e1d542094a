// The search loops: the only file of PatternMatcher with unsafe pointer
// arithmetic. Every unchecked access names the invariant that keeps it in
// bounds and asserts it in debug builds.

extension Automaton {
    /// One transition from `s` on `byte`.
    /// `w`/`l` are `words`/`label` (counts: `denseBase + 256 * shallowCount`, n).
    @inline(__always)
    func step(_ w: UnsafePointer<UInt32>, _ l: UnsafePointer<UInt8>, _ s: UInt32, _ byte: UInt8) -> UInt32 {
        let c = caseless ? foldASCII(byte) : byte
        var s = Int(s)
        while s >= shallowCount {
            // shallowCount <= s < n (states are < n by construction), so s + 1
            // <= n is inside the firstChild section; children k < n index `label`.
            assert(s < label.count)
            var k = Int(w[s])
            let hi = Int(w[s + 1])
            while k < hi {
                let lb = l[k]
                if lb == c { return UInt32(truncatingIfNeeded: k) }
                if lb > c { break }  // children are sorted by label
                k += 1
            }
            // failBase + s < denseBase: inside the fail section.
            s = Int(w[failBase + s] & ~Automaton.outputFlag)
        }
        // s < shallowCount: its dense row lies inside the dense section.
        return w[denseBase + s &* 256 + Int(byte)]
    }

    /// Whether a literal ends at state `s` or on its suffix chain.
    @inline(__always)
    func hasOutput(_ w: UnsafePointer<UInt32>, _ s: UInt32) -> Bool {
        w[failBase + Int(s)] & Automaton.outputFlag != 0  // s < n
    }

    /// Reports the literals ending at state `s` (suffix chain included) that
    /// are longer than `minLength`, all ending at absolute offset `end`.
    @inline(never)
    func report(_ w: UnsafePointer<UInt32>, _ s: UInt32, end: UInt64, longerThan minLength: Int,
                _ onMatch: (Match) throws -> Void) rethrows {
        var v = s
        // The suffix chain has strictly decreasing depth: the first state not
        // longer than minLength, or without outputs below, ends the walk.
        while v != 0, hasOutput(w, v), Int(depth[Int(v)]) > minLength {
            for i in outputs(of: v) { try onMatch(Match(id: outIDs[i], end: end)) }
            v = w[failBase + Int(v)] & ~Automaton.outputFlag
        }
    }

    /// Walks all `n` bytes at `p` from `state`, reporting every match ending
    /// in them; returns the state after the last byte.
    func walkAll(_ p: UnsafePointer<UInt8>, _ n: Int, from state: UInt32, base: UInt64,
                 _ onMatch: (Match) throws -> Void) rethrows -> UInt32 {
        try words.withUnsafeBufferPointer { wb in
            try label.withUnsafeBufferPointer { lb in
                // Both arrays are non-empty (root state, root row).
                let w = wb.baseAddress!, l = lb.baseAddress!
                var s = state
                for k in 0..<n {
                    s = step(w, l, s, p[k])  // k < n: the caller's chunk
                    if hasOutput(w, s) { try report(w, s, end: base &+ UInt64(k + 1), longerThan: 0, onMatch) }
                }
                return s
            }
        }
    }

    /// The boundary work of the filtered engine on one chunk of `n` bytes:
    /// - head: from the incoming state, walk until the state no longer
    ///   reaches back before the chunk (depth <= bytes consumed), reporting
    ///   only matches that start before the chunk (the filter finds the rest);
    /// - tail: the state at the chunk's end, from the start state at
    ///   `n - (maxLength - 1)` (a literal reaching into the next chunk has at
    ///   most maxLength - 1 bytes here), or continued from the head's state.
    func walkBoundaries(_ p: UnsafePointer<UInt8>, _ n: Int, from state: UInt32, base: UInt64,
                        _ onMatch: (Match) throws -> Void) rethrows -> UInt32 {
        try words.withUnsafeBufferPointer { wb in
            try label.withUnsafeBufferPointer { lb in
                let w = wb.baseAddress!, l = lb.baseAddress!
                var s = state
                var k = 0
                while s != 0, k < n, Int(depth[Int(s)]) > k {
                    s = step(w, l, s, p[k])  // k < n
                    k += 1
                    if hasOutput(w, s) { try report(w, s, end: base &+ UInt64(k), longerThan: k, onMatch) }
                }
                // The head consumed the chunk: its state is the state.
                if k == n { return s }
                // Otherwise the state at the end depends on this chunk only:
                // the longest suffix (at most maxLength - 1 bytes) that is a
                // literal prefix. One of 8+ bytes starts where the prefix
                // filter has a bit (checked by descending the trie from
                // there, earliest start first); a shorter one is what a walk
                // over the last 7 bytes from the start state ends in.
                let lo = max(0, n - (maxLength - 1))
                if !prefixBits.isEmpty {
                    let found: UInt32? = prefixBits.withUnsafeBufferPointer { pb in
                        let prefix = pb.baseAddress!  // prefixMask + 1 bits: every slot is inside
                        let raw = UnsafeRawPointer(p)
                        var j = lo
                        while j + 8 <= n {
                            // j + 8 <= n: the 8 bytes p[j ..< j+8] are in the chunk.
                            let key = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self) & 0xDFDF_DFDF_DFDF_DFDF
                            let b = Automaton.prefixSlot(key, prefixMask)
                            if prefix[b &>> 6] &>> UInt64(b & 63) & 1 != 0, let t = descend(w, l, p, j, n) { return t }
                            j += 1
                        }
                        return nil
                    }
                    if let found { return found }
                }
                s = 0
                for i in max(lo, n - 7)..<n { s = step(w, l, s, p[i]) }  // i < n
                return s
            }
        }
    }

    /// The trie node spelled by `p[j ..< n]` from the start state (children
    /// only, no failure links), or nil when it is no literal prefix.
    @inline(never)
    func descend(_ w: UnsafePointer<UInt32>, _ l: UnsafePointer<UInt8>, _ p: UnsafePointer<UInt8>, _ j: Int, _ n: Int) -> UInt32? {
        var s = 0
        for i in j..<n {
            let byte = p[i]  // j <= i < n
            let c = caseless ? foldASCII(byte) : byte
            if s < shallowCount {
                // A dense row's entry is the child exactly when it is one level deeper.
                let t = Int(w[denseBase + s &* 256 + Int(byte)])
                guard depth[t] == depth[s] + 1 else { return nil }
                s = t
                continue
            }
            var k = Int(w[s]), found = -1
            let hi = Int(w[s + 1])
            while k < hi {
                let lb = l[k]
                if lb == c { found = k; break }
                if lb > c { break }
                k += 1
            }
            guard found >= 0 else { return nil }
            s = found
        }
        return UInt32(truncatingIfNeeded: s)
    }
}

extension AnchorFilter {
    /// Reports every match lying wholly inside the chunk `p[0 ..< n]`.
    ///
    /// The main loop visits window ends i = 7, 11, 15, ... and loads the 8
    /// bytes `p[i-7 ... i]` once (little-endian, case-masked). From that word
    /// come the long key (end i) and the 4-byte keys ending at i, i-2 (when
    /// some window has stride <= 2) and i-1, i-3 (stride 1). The probe bits
    /// are OR-ed; a step with any bit set goes to the outlined verifier.
    /// Window end 3 (before the first load) and the ends after the last full
    /// step are probed one by one.
    func scan(_ p: UnsafePointer<UInt8>, _ n: Int, base: UInt64, _ onMatch: (Match) throws -> Void) rethrows {
        if n >= 4 {
            try bitmap.withUnsafeBufferPointer { bm in
                // bitmap has (bitMask + 1) / 64 words and every slot is `& bitMask`.
                let bits = bm.baseAddress!
                switch (hasStride1, hasStride2, twoBits) {
                case (true, _, false): try mainLoop(bits, p, n, base, stride2: true, stride1: true, twoBits: false, onMatch)
                case (true, _, true): try mainLoop(bits, p, n, base, stride2: true, stride1: true, twoBits: true, onMatch)
                case (false, true, false): try mainLoop(bits, p, n, base, stride2: true, stride1: false, twoBits: false, onMatch)
                case (false, true, true): try mainLoop(bits, p, n, base, stride2: true, stride1: false, twoBits: true, onMatch)
                case (false, false, false): try mainLoop(bits, p, n, base, stride2: false, stride1: false, twoBits: false, onMatch)
                case (false, false, true): try mainLoop(bits, p, n, base, stride2: false, stride1: false, twoBits: true, onMatch)
                }
            }
        }
        if hasShort { try scanShort(p, n, base, onMatch) }
    }

    /// The filter bits of `key`: 1 if set, else 0. With `twoBits`, both of
    /// the key's bits in its word must be set (`AnchorFilter.setBits`).
    @inline(__always)
    func bit(_ bits: UnsafePointer<UInt64>, _ key: UInt64, _ multiplier: UInt64, _ twoBits: Bool) -> UInt64 {
        AnchorFilter.test(bits, bitMask &>> 6, key, multiplier, twoBits)
    }

    /// What `AnchorFilter.setBits` set for `key` in a bitmap of
    /// `wordMask + 1` words: 1 if its bit (and, with `twoBits`, its second
    /// bit) is set, else 0.
    @inline(__always)
    static func test(_ bits: UnsafePointer<UInt64>, _ wordMask: Int, _ key: UInt64, _ multiplier: UInt64, _ twoBits: Bool) -> UInt64 {
        // The bit `slot(key, multiplier, 64 * (wordMask + 1) - 1)`, taken
        // apart: its word is h >> 6 masked by wordMask (so inside the
        // bitmap), its index in the word h mod 64, which is what `&>>` takes
        // of a count; the second bit is (key * multiplier) >> 34 mod 64.
        let product = key &* multiplier
        let h = product &>> 40
        let word = bits[Int(truncatingIfNeeded: h &>> 6) & wordMask]
        if twoBits { return word &>> h & word &>> (product &>> 34) & 1 }
        return word &>> h & 1
    }

    @inline(__always)
    func mainLoop(_ bits: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int, _ base: UInt64,
                  stride2: Bool, stride1: Bool, twoBits: Bool, _ onMatch: (Match) throws -> Void) rethrows {
        let raw = UnsafeRawPointer(p)
        let low32: UInt64 = 0xFFFF_FFFF
        let long = AnchorFilter.longMultiplier, medium = AnchorFilter.mediumMultiplier
        // End 3: the first 4 bytes (n >= 4).
        try probeEnd(bits, p, n, 3, base, onMatch)
        var i = 7
        // Steps are filtered in blocks of up to 256: the loop records every
        // step index and advances the count only on a hit (no branch on the
        // filter result), then the block's hits are verified.
        try withUnsafeTemporaryAllocation(of: Int32.self, capacity: 256) { buffer in
            let hits = buffer.baseAddress!  // 256 entries (1 KiB, on the stack)
            while i < n {
                let blockEnd = min(n, i &+ 4 * 256)
                var count = 0
                while i < blockEnd {
                    // i - 7 >= 0 and i < n: the 8 bytes p[i-7 ... i] are in the chunk.
                    let w = raw.loadUnaligned(fromByteOffset: i &- 7, as: UInt64.self) & AnchorFilter.caseMask
                    var hit = bit(bits, w, long, twoBits) | bit(bits, w &>> 32, medium, twoBits)
                    if stride2 { hit |= bit(bits, (w &>> 16) & low32, medium, twoBits) }
                    if stride1 {
                        hit |= bit(bits, (w &>> 24) & low32, medium, twoBits) | bit(bits, (w &>> 8) & low32, medium, twoBits)
                    }
                    // count <= steps so far in this block <= 255: inside the buffer.
                    hits[count] = Int32(truncatingIfNeeded: i)
                    count &+= Int(truncatingIfNeeded: hit)
                    i &+= 4  // i < n before: no overflow
                }
                for h in 0..<count {
                    let at = Int(hits[h])
                    let w = raw.loadUnaligned(fromByteOffset: at - 7, as: UInt64.self) & AnchorFilter.caseMask  // as above
                    try verifyStep(bits, p, n, at, w, base, onMatch)
                }
            }
        }
        // Ends after the last step (at most 3; none of them is 3 mod 4).
        for end in max(4, i - 3)..<max(4, n) {
            try probeEnd(bits, p, n, end, base, onMatch)
        }
    }

    /// The 4-byte window ending at `end` outside the main loop (8-byte
    /// windows end at 7, 11, ... which the loop covers; at 3 none fits).
    @inline(never)
    func probeEnd(_ bits: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int, _ end: Int, _ base: UInt64,
                  _ onMatch: (Match) throws -> Void) rethrows {
        // 3 <= end < n: the 4 bytes p[end-3 ... end] are in the chunk.
        let key = UInt64(UnsafeRawPointer(p).loadUnaligned(fromByteOffset: end - 3, as: UInt32.self)) & 0xDFDF_DFDF
        guard bit(bits, key, AnchorFilter.mediumMultiplier, twoBits) != 0 else { return }
        try lookup(mediumTable, key, p, n, end, base, onMatch)
    }

    /// A step of the main loop with at least one bit set: each key whose bit
    /// is set through its table (a table probe may miss the cache; the
    /// bitmap does not).
    @inline(never)
    func verifyStep(_ bits: UnsafePointer<UInt64>, _ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ w: UInt64,
                    _ base: UInt64, _ onMatch: (Match) throws -> Void) rethrows {
        let low32: UInt64 = 0xFFFF_FFFF
        let medium = AnchorFilter.mediumMultiplier
        if bit(bits, w, AnchorFilter.longMultiplier, twoBits) != 0 { try lookup(longTable, w, p, n, i, base, onMatch) }
        if bit(bits, w &>> 32, medium, twoBits) != 0 { try lookup(mediumTable, w &>> 32, p, n, i, base, onMatch) }
        if hasStride2, bit(bits, (w &>> 16) & low32, medium, twoBits) != 0 {
            try lookup(mediumTable, (w &>> 16) & low32, p, n, i - 2, base, onMatch)
        }
        if hasStride1 {
            if bit(bits, (w &>> 24) & low32, medium, twoBits) != 0 { try lookup(mediumTable, (w &>> 24) & low32, p, n, i - 1, base, onMatch) }
            if bit(bits, (w &>> 8) & low32, medium, twoBits) != 0 { try lookup(mediumTable, (w &>> 8) & low32, p, n, i - 3, base, onMatch) }
        }
    }

    @inline(__always)
    func lookup(_ table: borrowing KeyedLists, _ key: UInt64, _ p: UnsafePointer<UInt8>, _ n: Int,
                _ end: Int, _ base: UInt64, _ onMatch: (Match) throws -> Void) rethrows {
        if !secondBitmap.isEmpty {
            let multiplier = table.isLong ? AnchorFilter.secondLongMultiplier : AnchorFilter.secondMediumMultiplier
            let set = secondBitmap.withUnsafeBufferPointer {
                // Non-empty: a power-of-two count of words, `secondMask + 1` bits.
                AnchorFilter.test($0.baseAddress!, secondMask &>> 6, key, multiplier, true)
            }
            guard set != 0 else { return }
        }
        for j in table.range(key) { try check(p, n, end, table.entries[j], base, onMatch) }
    }

    /// Literals of 1-3 bytes: one flag table indexed by the last two bytes.
    func scanShort(_ p: UnsafePointer<UInt8>, _ n: Int, _ base: UInt64, _ onMatch: (Match) throws -> Void) rethrows {
        try shortFlags.withUnsafeBufferPointer { sb in
            let flags = sb.baseAddress!  // 65,536 entries: any 16-bit index is inside
            var w: UInt64 = 0
            for i in 0..<n {
                w = ((w &>> 8) | UInt64(p[i]) &<< 56) & AnchorFilter.caseMask  // i < n
                let f = flags[Int(truncatingIfNeeded: w &>> 48)]
                if f != 0 { try verifyShort(p, n, i, w, f, base, onMatch) }
            }
        }
    }

    @inline(never)
    func verifyShort(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ w: UInt64, _ flags: UInt8, _ base: UInt64,
                     _ onMatch: (Match) throws -> Void) rethrows {
        for len in 1...3 where flags & (1 << (len - 1)) != 0 {
            let key = (w &>> UInt64(64 - 8 * len)) | UInt64(len) << 56
            for j in short.range(key) { try check(p, n, i, short.entries[j], base, onMatch) }
        }
    }

    /// Anchor `entry`, whose window ends at position `end`: report its
    /// literal if it lies inside the chunk and its bytes match under its case
    /// rule.
    @inline(__always)
    func check(_ p: UnsafePointer<UInt8>, _ n: Int, _ end: Int, _ entry: AnchorEntry, _ base: UInt64,
               _ onMatch: (Match) throws -> Void) rethrows {
        // A window of stride s is owned by the ends e with e % s == s - 1.
        let strideMask = Int(entry.stride) - 1
        guard end & strideMask == strideMask else { return }
        let first = end + 1 - Int(entry.anchorEnd)
        guard first >= 0 else { return }
        // Pre-check on the first 8 bytes when they are inside the chunk.
        if first + 8 <= n,
           UnsafeRawPointer(p).loadUnaligned(fromByteOffset: first, as: UInt64.self) & entry.headMask != entry.head {
            return
        }
        try confirm(p, n, first, Int(entry.literal), base, onMatch)
    }

    /// Full comparison of literal `lit` at `first`: report it if it lies
    /// inside the chunk (the automata report the ones crossing a boundary)
    /// and its bytes match under its case rule.
    @inline(never)
    func confirm(_ p: UnsafePointer<UInt8>, _ n: Int, _ first: Int, _ lit: Int, _ base: UInt64,
                 _ onMatch: (Match) throws -> Void) rethrows {
        let len = Int(length[lit])
        guard first >= 0, first + len <= n else { return }
        let from = Int(start[lit])
        if caseless[lit] {
            for k in 0..<len where foldASCII(p[first + k]) != bytes[from + k] { return }  // first + k < n (guard)
        } else {
            for k in 0..<len where p[first + k] != bytes[from + k] { return }
        }
        try onMatch(Match(id: ids[lit], end: base &+ UInt64(first + len)))
    }
}
