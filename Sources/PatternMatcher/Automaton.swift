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
    /// Every per-state `UInt32` array in one flat buffer, so the search loop
    /// takes one pointer (sections at the offsets below, n = state count):
    /// - `firstChild` (n + 1): children of `u` are `firstChild[u] ..< firstChild[u + 1]`;
    /// - `fail` (n): the state of the longest proper suffix that is a prefix;
    /// - `depth` (n): length of the prefix a state stands for;
    /// - `matchLink` (n): first state on the suffix chain (itself included)
    ///   that ends a literal, or `noState`;
    /// - `dictLink` (n): the same strictly below the state;
    /// - `outStart` (n + 1): ids ending exactly at `v` are `outIDs[outStart[v] ..< outStart[v + 1]]`;
    /// - `rootNext` (256): dense transitions of the root (input byte, before folding).
    let words: [UInt32]
    let outIDs: [UInt32]
    /// Longest literal in this automaton.
    let maxLength: Int
    let failBase: Int, depthBase: Int, matchBase: Int, dictBase: Int, outBase: Int, rootBase: Int

    static let noState = UInt32.max

    var stateCount: Int { label.count }

    var memoryUsage: Int { label.count + 4 * (words.count + outIDs.count) }

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
        var depth: [UInt32] = [0]
        var rangeLo: [Int] = [0]
        var rangeHi: [Int] = [order.count]
        var firstChild: [UInt32] = []
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
            while lo < hi, literals[order[lo]].count == d {
                outIDs.append(ids[order[lo]])
                maxLength = max(maxLength, d)
                lo += 1
            }
            outStart.append(UInt32(outIDs.count))
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
                depth.append(UInt32(d + 1))
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
        var matchLink = [UInt32](repeating: Automaton.noState, count: n)
        var dictLink = [UInt32](repeating: Automaton.noState, count: n)
        for s in 0..<n {
            // BFS order: fail[s] (shallower) is final before s's children are set.
            if s != 0 {
                dictLink[s] = matchLink[Int(fail[s])]
                matchLink[s] = outStart[s] < outStart[s + 1] ? UInt32(s) : dictLink[s]
            }
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
        var rootNext = [UInt32](repeating: 0, count: 256)
        for c in 0..<256 {
            let folded = caseless ? foldASCII(UInt8(c)) : UInt8(c)
            rootNext[c] = UInt32(child(0, folded) ?? 0)
        }
        self.label = label
        failBase = n + 1
        depthBase = failBase + n
        matchBase = depthBase + n
        dictBase = matchBase + n
        outBase = dictBase + n
        rootBase = outBase + n + 1
        var words = firstChild
        words.reserveCapacity(rootBase + 256)
        words += fail
        words += depth
        words += matchLink
        words += dictLink
        words += outStart
        words += rootNext
        self.words = words
        self.outIDs = outIDs
        self.maxLength = maxLength
    }
}
