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
}
