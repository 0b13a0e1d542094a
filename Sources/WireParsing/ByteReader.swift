/// A bounds-checked cursor over a slice of bytes.
///
/// Every read returns `nil` (and leaves the cursor where it was) when fewer
/// bytes remain than requested, so decoders of hostile input never trap: they
/// turn a `nil` into a named ``Anomaly``.
package struct ByteReader: Sendable {
    /// The bytes being read. Indices are those of the underlying slice.
    package let bytes: ArraySlice<UInt8>
    /// Index of the next unread byte (an index of ``bytes``).
    package private(set) var position: Int

    package init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    package init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Number of unread bytes.
    package var remaining: Int { bytes.endIndex - position }

    /// Offset of the cursor from the start of the slice.
    package var offset: Int { position - bytes.startIndex }

    package var isAtEnd: Bool { position >= bytes.endIndex }

    /// The unread bytes.
    package var rest: ArraySlice<UInt8> { bytes[position...] }

    package mutating func readUInt8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    package mutating func readUInt16(_ order: ByteOrder = .big) -> UInt16? {
        guard remaining >= 2 else { return nil }
        let b0 = UInt16(bytes[position]), b1 = UInt16(bytes[position + 1])
        position += 2
        return order == .big ? (b0 << 8 | b1) : (b1 << 8 | b0)
    }

    package mutating func readUInt32(_ order: ByteOrder = .big) -> UInt32? {
        guard remaining >= 4 else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 {
            let byte = UInt32(bytes[position + (order == .big ? i : 3 - i)])
            value = value << 8 | byte
        }
        position += 4
        return value
    }

    /// Reads `count` bytes as a slice sharing storage with ``bytes``.
    package mutating func readBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// Advances by `count` bytes; `false` (cursor unchanged) if fewer remain.
    @discardableResult
    package mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        position += count
        return true
    }

    /// Moves the cursor to `offset` bytes from the start of the slice.
    @discardableResult
    package mutating func seek(toOffset offset: Int) -> Bool {
        guard offset >= 0, offset <= bytes.count else { return false }
        position = bytes.startIndex + offset
        return true
    }

    /// Peeks at the byte `ahead` positions past the cursor without moving it.
    package func peekUInt8(ahead: Int = 0) -> UInt8? {
        let index = position + ahead
        guard ahead >= 0, index < bytes.endIndex else { return nil }
        return bytes[index]
    }
}

/// Byte order of a multi-byte field.
@usableFromInline
package enum ByteOrder: Sendable {
    case big
    case little
}

extension FixedWidthInteger {
    /// Reads an integer from `bytes` at `offset` (relative to the slice start),
    /// or `nil` if the slice is too short. Inlinable so that callers in other
    /// modules get a specialised copy instead of generic witness calls.
    @inlinable
    package static func read(from bytes: ArraySlice<UInt8>, at offset: Int, _ order: ByteOrder) -> Self? {
        let size = MemoryLayout<Self>.size
        guard offset >= 0, bytes.count - offset >= size else { return nil }
        let start = bytes.startIndex + offset
        var value: Self = 0
        for i in 0..<size {
            let byte = Self(truncatingIfNeeded: bytes[start + (order == .big ? i : size - 1 - i)])
            value = value << 8 | byte
        }
        return value
    }
}
