// Aho-Corasick automaton over one case rule, built mutable and frozen into
// flat arrays (ARCHITECTURE "The hot path"). States are numbered in BFS order,
// so the children of consecutive states are consecutive and one `firstChild`
// array of n+1 entries is the whole transition structure (CSR); the root has a
// dense 256-entry row. Used for the bytes next to chunk boundaries by the
// filtered engine and for every byte by the automaton engine.

/// A frozen Aho-Corasick automaton (the "contiguous NFA" of aho-corasick 1.x:
/// sparse rows plus failure links, a dense root row).
struct Automaton: Sendable {
    /// Whether input bytes are ASCII-folded before the transition.
    let caseless: Bool
    /// `label[v]`: the byte on the edge into `v` (root: 0). Children of a state
    /// are sorted by label.
    let label: [UInt8]
    /// Length of the prefix each state stands for (literals are < 65,536 bytes).
    let depth: [UInt16]
    /// Every per-state `UInt32` array in one flat buffer, so the search loop
    /// takes one pointer (sections at the offsets below, n = state count):
    /// - `firstChild` (n + 1) at 0: children of `u` are `firstChild[u] ..< firstChild[u + 1]`;
    /// - `fail` (n) at `failBase`: the state of the longest proper suffix that
    ///   is a prefix, with `outputFlag` set when a literal ends at the state or
    ///   anywhere on its suffix chain;
    /// - dense rows at `denseBase`: for the root and its children (ids below
    ///   `shallowCount`, BFS order), the complete transition for every input
    ///   byte (folding and failure links resolved), 256 entries each.
    let words: [UInt32]
    let failBase: Int
    let denseBase: Int
    let shallowCount: Int
    /// States where literals end (ascending), and their ids:
    /// `outIDs[outStart[i] ..< outStart[i + 1]]` end at `outState[i]`.
    let outState: [UInt32]
    let outStart: [UInt32]
    let outIDs: [UInt32]
    /// Longest literal in this automaton.
    let maxLength: Int
    /// Prefix filter: one bit (`prefixSlot`) for the first eight bytes
    /// (case-masked) of every literal of 8+ bytes. A suffix of a chunk that is
    /// a literal prefix of 8+ bytes begins where this filter has a bit.
    let prefixBits: [UInt64]
    let prefixMask: Int

    static let outputFlag: UInt32 = 1 << 31

    var stateCount: Int { label.count }

    var memoryUsage: Int {
        label.count + 2 * depth.count + 4 * (words.count + outState.count + outStart.count + outIDs.count)
    }

    /// Builds the automaton of `literals` (bytes already folded for a caseless
    /// automaton); `ids[i]` is reported for `literals[i]`.
    init(literals: [ArraySlice<UInt8>], ids: [UInt32], caseless: Bool) {
        self.caseless = caseless
        let order = literals.indices.sorted { a, b in
            let x = literals[a], y = literals[b]
            if x.lexicographicallyPrecedes(y) { return true }
            if y.lexicographicallyPrecedes(x) { return false }
            return a < b
        }
        var label: [UInt8] = [0]
        var depth: [UInt16] = [0]
        var rangeLo: [Int] = [0]
        var rangeHi: [Int] = [order.count]
        var firstChild: [UInt32] = []
        var outState: [UInt32] = []
        var outStart: [UInt32] = [0]
        var outIDs: [UInt32] = []
        var maxLength = 0
        var u = 0
        // BFS: state u owns the sorted literals order[rangeLo[u] ..< rangeHi[u]]
        // sharing its prefix; those of exactly its length come first.
        while u < label.count {
            var lo = rangeLo[u]
            let hi = rangeHi[u]
            let d = Int(depth[u])
            if lo < hi, literals[order[lo]].count == d {
                outState.append(UInt32(u))
                while lo < hi, literals[order[lo]].count == d {
                    outIDs.append(ids[order[lo]])
                    maxLength = max(maxLength, d)
                    lo += 1
                }
                outStart.append(UInt32(outIDs.count))
            }
            firstChild.append(UInt32(label.count))
            var i = lo
            while i < hi {
                let lit = literals[order[i]]
                let b = lit[lit.startIndex + d]
                var j = i + 1
                while j < hi {
                    let other = literals[order[j]]
                    if other[other.startIndex + d] != b { break }
                    j += 1
                }
                label.append(b)
                depth.append(UInt16(d + 1))
                rangeLo.append(i)
                rangeHi.append(j)
                i = j
            }
            u += 1
        }
        firstChild.append(UInt32(label.count))
        let n = label.count

        func child(_ s: Int, _ c: UInt8) -> Int? {
            var lo = Int(firstChild[s]), hi = Int(firstChild[s + 1])
            while lo < hi {
                let mid = (lo + hi) / 2
                if label[mid] < c { lo = mid + 1 } else { hi = mid }
            }
            return lo < Int(firstChild[s + 1]) && label[lo] == c ? lo : nil
        }

        var fail = [UInt32](repeating: 0, count: n)
        var flagged = [Bool](repeating: false, count: n)
        var own = [Bool](repeating: false, count: n)
        for v in outState { own[Int(v)] = true }
        for s in 0..<n {
            // BFS order: fail[s] (shallower) is final before s's children are set.
            if s != 0 { flagged[s] = own[s] || flagged[Int(fail[s])] }
            for v in Int(firstChild[s])..<Int(firstChild[s + 1]) {
                if s == 0 { fail[v] = 0; continue }
                var f = Int(fail[s])
                while true {
                    if let t = child(f, label[v]) { fail[v] = UInt32(t); break }
                    if f == 0 { fail[v] = 0; break }
                    f = Int(fail[f])
                }
            }
        }
        let shallowCount = Int(firstChild[1])
        var dense = [UInt32](repeating: 0, count: shallowCount * 256)
        for s in 0..<shallowCount {
            for b in 0..<256 {
                let c = caseless ? foldASCII(UInt8(b)) : UInt8(b)
                if let t = child(s, c) {
                    dense[s * 256 + b] = UInt32(t)
                } else if s != 0 {
                    dense[s * 256 + b] = dense[Int(fail[s]) * 256 + b]  // fail of a root child is the root
                }
            }
        }
        self.label = label
        self.depth = depth
        failBase = n + 1
        denseBase = failBase + n
        self.shallowCount = shallowCount
        var words = firstChild
        words.reserveCapacity(denseBase + dense.count)
        for s in 0..<n { words.append(fail[s] | (flagged[s] ? Automaton.outputFlag : 0)) }
        words += dense
        self.words = words
        self.outState = outState
        self.outStart = outStart
        self.outIDs = outIDs
        self.maxLength = maxLength
        let long = literals.filter { $0.count >= 8 }
        var prefixCount = 1 << 12
        while prefixCount < 1 << 23 && prefixCount < long.count * 64 { prefixCount *= 2 }
        var prefix = [UInt64](repeating: 0, count: long.isEmpty ? 0 : prefixCount / 64)
        for lit in long {
            var key: UInt64 = 0
            for (j, b) in lit.prefix(8).enumerated() { key |= UInt64(b) << UInt64(8 * j) }
            let b = Automaton.prefixSlot(key & 0xDFDF_DFDF_DFDF_DFDF, prefixCount - 1)
            prefix[b >> 6] |= 1 << UInt64(b & 63)
        }
        prefixBits = prefix
        prefixMask = prefixCount - 1
    }

    @inline(__always)
    static func prefixSlot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0xC2B2_AE3D_27D4_EB4F) &>> 40) & mask
    }

    /// The literal ids ending exactly at state `v` (empty for most states).
    func outputs(of v: UInt32) -> Range<Int> {
        var lo = 0, hi = outState.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if outState[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        guard lo < outState.count, outState[lo] == v else { return 0..<0 }
        return Int(outStart[lo])..<Int(outStart[lo + 1])
    }
}
