/// An immutable set of byte strings with dense indices: all values in one
/// arena, offsets into it, and an open-addressing hash table of indices.
///
/// About 12 bytes of overhead per value plus the value's bytes, where a
/// `[String: Int]` costs 60–100: the difference decides whether a million
/// indicators fit in 1.5× the size of the file they came from.
struct ValueTable: Sendable {
    /// Every value's bytes, back to back.
    private var arena: [UInt8] = []
    /// `offsets[i] ..< offsets[i + 1]` is value `i` in `arena`.
    private var offsets: [UInt32] = [0]
    /// `index + 1` of the value in each bucket, 0 for empty. Power-of-two
    /// capacity, at most half full.
    private var buckets: [UInt32] = []
    private var mask = 0

    var count: Int { offsets.count - 1 }

    /// Bytes held by the table's storage.
    var memoryUsage: Int { arena.capacity + offsets.capacity * 4 + buckets.capacity * 4 }

    /// Offsets are `UInt32`: all values of one kind together stay under 4 GiB.
    static let maxArenaBytes = Int(UInt32.max) - 1

    /// Appends `value` if absent; returns its index either way, or `nil` when
    /// the arena is full (the builder counts the value as skipped).
    mutating func insert(_ value: some Collection<UInt8>) -> Int? {
        if buckets.isEmpty { grow(to: 16) }
        if let existing = find(value) { return existing }
        guard arena.count + value.count < ValueTable.maxArenaBytes, count < Int(UInt32.max) - 1 else { return nil }
        if (count + 1) * 2 > buckets.count { grow(to: buckets.count * 2) }
        arena.append(contentsOf: value)
        offsets.append(UInt32(arena.count))
        place(count - 1, hash: ValueTable.hash(value))
        return count - 1
    }

    /// The index of `value`, if present.
    func find(_ value: some Collection<UInt8>) -> Int? {
        guard !buckets.isEmpty else { return nil }
        var b = Int(truncatingIfNeeded: ValueTable.hash(value)) & mask
        while true {
            let entry = buckets[b]
            if entry == 0 { return nil }
            let index = Int(entry - 1)
            let start = Int(offsets[index]), end = Int(offsets[index + 1])
            if end - start == value.count, arena[start..<end].elementsEqual(value) { return index }
            b = (b + 1) & mask
        }
    }

    func value(at index: Int) -> String {
        String(decoding: arena[Int(offsets[index])..<Int(offsets[index + 1])], as: UTF8.self)
    }

    /// Releases spare capacity once building is done.
    mutating func shrink() {
        arena = arena.compacted()
        offsets = offsets.compacted()
    }

    private mutating func grow(to capacity: Int) {
        buckets = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for index in 0..<count {
            place(index, hash: ValueTable.hash(arena[Int(offsets[index])..<Int(offsets[index + 1])]))
        }
    }

    private mutating func place(_ index: Int, hash: UInt64) {
        var b = Int(truncatingIfNeeded: hash) & mask
        while buckets[b] != 0 { b = (b + 1) & mask }
        buckets[b] = UInt32(index + 1)
    }

    /// FNV-1a, 64-bit, then a final mix so the low bits (the bucket) depend on every byte.
    @inline(__always)
    static func hash(_ bytes: some Collection<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }
}

extension Array {
    /// A copy whose capacity is its count (`Array(self)` would share the
    /// oversized buffer instead of copying it).
    func compacted() -> [Element] {
        withUnsafeBufferPointer { [Element]($0) }
    }
}
