// The search loops: the only file of PatternMatcher with unsafe pointer
// arithmetic. Every unchecked access names the invariant that keeps it in
// bounds and asserts it in debug builds.

extension Automaton {
    /// One transition from `s` on `byte`.
    /// `w`/`l` are `words`/`label` (their counts: `rootBase + 256`, n).
    @inline(__always)
    func step(_ w: UnsafePointer<UInt32>, _ l: UnsafePointer<UInt8>, _ s: UInt32, _ byte: UInt8) -> UInt32 {
        let c = caseless ? foldASCII(byte) : byte
        var s = Int(s)
        while s != 0 {
            // s < n (states are < n by construction), so s + 1 <= n is inside
            // the firstChild section; children k < n index `label`.
            assert(s < label.count)
            var k = Int(w[s])
            let hi = Int(w[s + 1])
            while k < hi {
                let lb = l[k]
                if lb == c { return UInt32(truncatingIfNeeded: k) }
                if lb > c { break }  // children are sorted by label
                k += 1
            }
            s = Int(w[failBase + s])  // failBase + s < depthBase: inside the fail section
        }
        // rootBase + byte < rootBase + 256 = words.count.
        return w[rootBase + Int(byte)]
    }

    /// Reports the literals ending at state `s` (suffix chain included) that
    /// are longer than `minLength`, all ending at absolute offset `end`.
    @inline(__always)
    func report(_ w: UnsafePointer<UInt32>, _ s: UInt32, end: UInt64, longerThan minLength: Int,
                _ onMatch: (Match) throws -> Void) rethrows {
        var v = w[matchBase + Int(s)]  // s < n: inside the matchLink section
        while v != Automaton.noState {
            // v is a state (< n); the dict chain has strictly decreasing depth,
            // so the first literal not longer than minLength ends the walk.
            if Int(w[depthBase + Int(v)]) <= minLength { return }
            for i in Int(w[outBase + Int(v)])..<Int(w[outBase + Int(v) + 1]) {
                try onMatch(Match(id: outIDs[i], end: end))
            }
            v = w[dictBase + Int(v)]
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
                    if w[matchBase + Int(s)] != Automaton.noState {
                        try report(w, s, end: base &+ UInt64(k + 1), longerThan: 0, onMatch)
                    }
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
                while s != 0, k < n, Int(w[depthBase + Int(s)]) > k {
                    s = step(w, l, s, p[k])  // k < n
                    k += 1
                    if w[matchBase + Int(s)] != Automaton.noState {
                        try report(w, s, end: base &+ UInt64(k), longerThan: k, onMatch)
                    }
                }
                let tail = n - (maxLength - 1)
                if tail > k {
                    s = 0
                    k = tail
                }
                while k < n {
                    s = step(w, l, s, p[k])  // k < n
                    k += 1
                }
                return s
            }
        }
    }
}

extension AnchorFilter {
    /// Reports every match lying wholly inside the chunk `p[0 ..< n]`.
    func scan(_ p: UnsafePointer<UInt8>, _ n: Int, base: UInt64, _ onMatch: (Match) throws -> Void) rethrows {
        try bitmap.withUnsafeBufferPointer { bm in
            // bitmap has (1 << (64 - shift)) / 64 >= 64 words; a slot is
            // < 1 << (64 - shift), so slot >> 6 < bitmap.count.
            let bits = bm.baseAddress!
            let shift = self.shift
            var w: UInt64 = 0
            if hasShort {
                try shortFlags.withUnsafeBufferPointer { sb in
                    let flags = sb.baseAddress!  // 65,536 entries: any w & 0xFFFF is inside
                    for i in 0..<n {
                        w = (w << 8) | UInt64(foldASCII(p[i]))  // i < n
                        let a = AnchorFilter.longSlot(w, shift), b = AnchorFilter.mediumSlot(w, shift)
                        assert(a >> 6 < bm.count && b >> 6 < bm.count)
                        if (bits[a >> 6] >> UInt64(a & 63) | bits[b >> 6] >> UInt64(b & 63)) & 1 != 0 {
                            try verify(p, n, i, w, base, onMatch)
                        }
                        let f = flags[Int(truncatingIfNeeded: w & 0xFFFF)]
                        if f != 0 { try verifyShort(p, n, i, w, f, base, onMatch) }
                    }
                }
            } else {
                for i in 0..<n {
                    w = (w << 8) | UInt64(foldASCII(p[i]))  // i < n
                    let a = AnchorFilter.longSlot(w, shift), b = AnchorFilter.mediumSlot(w, shift)
                    assert(a >> 6 < bm.count && b >> 6 < bm.count)
                    if (bits[a >> 6] >> UInt64(a & 63) | bits[b >> 6] >> UInt64(b & 63)) & 1 != 0 {
                        try verify(p, n, i, w, base, onMatch)
                    }
                }
            }
        }
    }

    /// A bitmap hit at position `i` (register `w`): look the anchors up.
    @inline(never)
    func verify(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ w: UInt64, _ base: UInt64,
                _ onMatch: (Match) throws -> Void) rethrows {
        if hasLong {
            for j in long.range(w) { try check(p, n, i, Int(long.values[j]), base, onMatch) }
        }
        if hasMedium {
            for j in medium.range(w & 0xFFFF_FFFF) { try check(p, n, i, Int(medium.values[j]), base, onMatch) }
        }
    }

    @inline(never)
    func verifyShort(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ w: UInt64, _ flags: UInt8, _ base: UInt64,
                     _ onMatch: (Match) throws -> Void) rethrows {
        for len in 1...3 where flags & (1 << (len - 1)) != 0 {
            let key = (w & ((1 << UInt64(8 * len)) - 1)) | UInt64(len) << 56
            for j in short.range(key) { try check(p, n, i, Int(short.values[j]), base, onMatch) }
        }
    }

    /// Literal `lit`, whose anchor ends at position `i`: report it if it lies
    /// inside the chunk and its bytes match under its case rule.
    @inline(__always)
    func check(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: Int, _ lit: Int, _ base: UInt64,
               _ onMatch: (Match) throws -> Void) rethrows {
        let len = Int(length[lit])
        let first = i + 1 - Int(anchorEnd[lit])
        // Only literals wholly inside the chunk: the automata report the ones
        // crossing a boundary.
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
