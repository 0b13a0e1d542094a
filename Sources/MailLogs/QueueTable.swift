/// An open-addressing hash table keyed by queue id (``MessageAssembler/QueueKey``):
/// what message assembly and pflogsumm's totals look up once or twice per
/// log line, without `Dictionary`'s SipHash set-up on every probe.
///
/// Linear probing, at most half full, deletion by backward shift (no
/// tombstones, so a long log never degrades the table). The hash is a
/// folded 64×64→128-bit multiply of the key's words with per-process random
/// keys (the construction of Rust's foldhash and aHash): queue ids can come
/// from the network (Exchange message ids are the sender's header), and the
/// random keys keep an attacker from choosing ids that collide.
struct QueueTable<Value> {
    typealias Key = MessageAssembler.QueueKey

    fileprivate struct Slot {
        var key: Key
        var value: Value
    }

    /// Per-process random keys of the hash.
    private static var seeds: (UInt64, UInt64, UInt64, UInt64) { QueueTableSeeds.values }

    private var slots: [Slot?]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = Array(repeating: nil, count: size)
        mask = size - 1
    }

    private static func fold(_ x: UInt64, _ y: UInt64) -> UInt64 {
        let p = x.multipliedFullWidth(by: y)
        return p.high ^ p.low
    }

    private static func hash(_ key: Key) -> Int {
        let s = seeds
        let h = fold(key.a ^ s.0, key.b ^ s.1) &+ fold(key.c ^ s.2, UInt64(key.length) ^ s.3)
        return Int(truncatingIfNeeded: fold(h, s.0 | 1))
    }

    /// The slot holding `key`, or nil.
    private func slot(of key: Key) -> Int? {
        var i = QueueTable.hash(key) & mask
        while let slot = slots[i] {
            if slot.key == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    subscript(key: Key) -> Value? {
        get { slot(of: key).map { slots[$0]!.value } }
        set {
            if let newValue { insert(key, newValue) } else { remove(key) }
        }
    }

    func contains(_ key: Key) -> Bool { slot(of: key) != nil }

    /// Sets `key`'s value; returns whether the key was new.
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value) -> Bool {
        var i = QueueTable.hash(key) & mask
        while let slot = slots[i] {
            if slot.key == key {
                slots[i]!.value = value
                return false
            }
            i = (i + 1) & mask
        }
        slots[i] = Slot(key: key, value: value)
        count += 1
        if count * 2 > slots.count { grow() }
        return true
    }

    /// Replaces `key`'s value (nil when missing) by what `change` makes of
    /// it, with one probe; returns whether the key was new.
    @discardableResult
    mutating func update(_ key: Key, _ change: (Value?) -> Value) -> Bool {
        var i = QueueTable.hash(key) & mask
        while let slot = slots[i] {
            if slot.key == key {
                slots[i]!.value = change(slot.value)
                return false
            }
            i = (i + 1) & mask
        }
        slots[i] = Slot(key: key, value: change(nil))
        count += 1
        if count * 2 > slots.count { grow() }
        return true
    }

    /// Removes `key`; returns its value if it was there.
    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard var hole = slot(of: key) else { return nil }
        let value = slots[hole]!.value
        slots[hole] = nil
        count -= 1
        // Backward shift: move later entries of the run into the hole when
        // their home slot does not lie (cyclically) between the hole and them.
        var i = (hole + 1) & mask
        while let slot = slots[i] {
            let home = QueueTable.hash(slot.key) & mask
            let distanceFromHome = (i - home) & mask
            let distanceFromHole = (i - hole) & mask
            if distanceFromHome >= distanceFromHole {
                slots[hole] = slot
                slots[i] = nil
                hole = i
            }
            i = (i + 1) & mask
        }
        return value
    }

    mutating func removeAll() {
        for i in slots.indices { slots[i] = nil }
        count = 0
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for case let slot? in old { insert(slot.key, slot.value) }
    }
}

extension QueueTable: Sendable where Value: Sendable {}
extension QueueTable.Slot: Sendable where Value: Sendable {}

/// The random keys of ``QueueTable``'s hash, drawn once per process.
private enum QueueTableSeeds {
    static let values: (UInt64, UInt64, UInt64, UInt64) = {
        var g = SystemRandomNumberGenerator()
        return (g.next(), g.next(), g.next(), g.next())
    }()
}
