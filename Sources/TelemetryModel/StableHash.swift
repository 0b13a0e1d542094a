/// Stable, non-cryptographic names derived from content: the same input
/// gives the same id in every run and on every machine (campaign ids,
/// exported STIX ids). Never use it where an adversary chooses inputs to
/// collide on purpose and that would matter.
package enum StableHash {
    /// FNV-1a, 64 bits, over the UTF-8 bytes of `text`, after `seed`.
    package static func fnv1a64(_ text: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// 16 lower-case hex digits.
    package static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// An RFC 4122 UUID with the version 4 and variant bits set, its other
    /// 122 bits taken from two FNV-1a hashes of `name`: well-formed where
    /// STIX asks for UUIDv4, and stable, so re-exporting the same data gives
    /// the same ids (consumers deduplicate by id).
    package static func uuid(_ name: String) -> String {
        let high = (fnv1a64(name) & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let low = (fnv1a64(name, seed: 0x6c62_272e_07bb_0142) & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let h = hex(high), l = hex(low)
        func slice(_ s: String, _ from: Int, _ count: Int) -> Substring {
            s.dropFirst(from).prefix(count)
        }
        return "\(slice(h, 0, 8))-\(slice(h, 8, 4))-\(slice(h, 12, 4))-\(slice(l, 0, 4))-\(slice(l, 4, 12))"
    }

    /// SipHash-2-4 (Aumasson and Bernstein) of `bytes` under the 128-bit key
    /// (`k0`, `k1`): a keyed hash whose collisions an outsider cannot craft
    /// without the key. Used where inputs come from traffic (sighting
    /// identities) and collisions would cost work.
    package static func sipHash24(_ bytes: [UInt8], k0: UInt64, k1: UInt64) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1
        @inline(__always) func round() {
            v0 &+= v1; v1 = v1.rotated(13); v1 ^= v0; v0 = v0.rotated(32)
            v2 &+= v3; v3 = v3.rotated(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotated(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotated(17); v1 ^= v2; v2 = v2.rotated(32)
        }
        let whole = bytes.count / 8 * 8
        var i = 0
        while i < whole {
            var m: UInt64 = 0
            for j in 0..<8 { m |= UInt64(bytes[i + j]) << UInt64(8 * j) }
            v3 ^= m
            round(); round()
            v0 ^= m
            i += 8
        }
        var last = UInt64(truncatingIfNeeded: bytes.count) << 56
        for j in 0..<(bytes.count - whole) { last |= UInt64(bytes[whole + j]) << UInt64(8 * j) }
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotated(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
