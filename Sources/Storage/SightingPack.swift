import Foundation
import GRDB

/// The report's copy of the sightings: blobs of fixed-width records in the
/// `sighting_pack` table, written in the same transaction as the sightings
/// they copy (so a kill leaves both or neither). Reading a million sightings
/// from packs costs a few milliseconds of SQLite; reading them row by row
/// from an index costs a quarter of a second (docs/performance.md).
///
/// Record, 24 bytes little-endian: time (Int64 ns), sighting id (Int64),
/// indicator id (Int32), customer number (`customer.n`, Int32). Records in a pack are in
/// time order; `min_time`/`max_time` bound them.
package enum SightingPack {
    package struct Record: Equatable, Sendable {
        var time: Int64
        var sighting: Int64
        var indicator: Int32
        var customer: Int32

        init(time: Int64, sighting: Int64, indicator: Int32, customer: Int32) {
            self.time = time
            self.sighting = sighting
            self.indicator = indicator
            self.customer = customer
        }

        /// From stored ids; ids beyond 32 bits are an error, never truncated.
        init(time: Int64, sighting: Int64, indicatorID: Int64, customerN: Int64) throws {
            guard let i = Int32(exactly: indicatorID), let c = Int32(exactly: customerN) else {
                throw StorageError(.database, "indicator id \(indicatorID) or customer number \(customerN) beyond the report's 32-bit range")
            }
            self.init(time: time, sighting: sighting, indicator: i, customer: c)
        }
    }

    static let recordSize = 24
    /// Rows per pack: 192 KiB blobs.
    static let rowsPerPack = 8192

    static func encode(_ records: some Collection<Record>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * recordSize)
        func put<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        for r in records {
            put(r.time)
            put(r.sighting)
            put(r.indicator)
            put(r.customer)
        }
        return out
    }

    /// Calls `body` for each record of a blob. A blob whose length is not a
    /// whole number of records is corrupt: nothing is read from it and the
    /// function returns false.
    /// `bigEndian`: records as PostgreSQL's `int8send`/`int4send` write them
    /// (`PostgresStore.reportScan`), same layout.
    @inline(__always)
    static func forEach(_ bytes: UnsafeRawBufferPointer, bigEndian: Bool = false, _ body: (Int64, Int64, Int32, Int32) throws -> Void) rethrows -> Bool {
        guard bytes.count % recordSize == 0 else { return false }
        var offset = 0
        // Invariant: offset + recordSize <= bytes.count for every load below
        // (count is a multiple of recordSize and offset steps by it).
        while offset < bytes.count {
            let time = bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)
            let sighting = bytes.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self)
            let indicator = bytes.loadUnaligned(fromByteOffset: offset + 16, as: Int32.self)
            let customer = bytes.loadUnaligned(fromByteOffset: offset + 20, as: Int32.self)
            if bigEndian {
                try body(Int64(bigEndian: time), Int64(bigEndian: sighting), Int32(bigEndian: indicator), Int32(bigEndian: customer))
            } else {
                try body(Int64(littleEndian: time), Int64(littleEndian: sighting), Int32(littleEndian: indicator), Int32(littleEndian: customer))
            }
            offset += recordSize
        }
        return true
    }

    static func decode(_ bytes: [UInt8]) -> [Record] {
        var out: [Record] = []
        _ = bytes.withUnsafeBytes { raw in
            forEach(raw) { out.append(Record(time: $0, sighting: $1, indicator: $2, customer: $3)) }
        }
        return out
    }

    /// Ids of the sightings in `[since, until)` of customer number `customer`
    /// (if given) whose indicator is in `indicators` or whose id is in
    /// `orSightings` (if `indicators` is given).
    static func sightingIDs(
        _ db: Database, since: Int64, until: Int64, customer: Int32?, indicators: Set<Int32>?, orSightings: Set<Int64>
    ) throws -> [Int64] {
        var ids: [Int64] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT data FROM sighting_pack WHERE max_time >= ? AND min_time < ?", arguments: [since, until])
        while let row = try rows.next() {
            let data: Data = row[0]
            let whole = data.withUnsafeBytes { raw in
                forEach(raw) { time, sid, indicator, customerN in
                    guard time >= since, time < until else { return }
                    if let customer, customerN != customer { return }
                    if let indicators, !indicators.contains(indicator) && !orSightings.contains(sid) { return }
                    ids.append(sid)
                }
            }
            if !whole { throw StorageError(.database, "a sighting pack is corrupt (\(data.count) bytes)") }
        }
        return ids
    }

    /// Appends new sightings: first fills the newest pack up to
    /// `rowsPerPack`, then writes full packs.
    static func append(_ db: Database, _ records: [Record]) throws {
        guard !records.isEmpty else { return }
        var pending = records.sorted { ($0.time, $0.sighting) < ($1.time, $1.sighting) }[...]
        if let last = try Row.fetchOne(db, sql: "SELECT id, rows, data FROM sighting_pack ORDER BY id DESC LIMIT 1"),
           (last[1] as Int) < rowsPerPack {
            let take = min(rowsPerPack - (last[1] as Int), pending.count)
            let merged = (decode([UInt8](last[2] as Data)) + pending.prefix(take)).sorted { ($0.time, $0.sighting) < ($1.time, $1.sighting) }
            try db.execute(
                sql: "UPDATE sighting_pack SET min_time = ?, max_time = ?, rows = ?, data = ? WHERE id = ?",
                arguments: [merged.first!.time, merged.last!.time, merged.count, Data(encode(merged)), last[0] as Int64])
            pending = pending.dropFirst(take)
        }
        while !pending.isEmpty {
            let chunk = pending.prefix(rowsPerPack)
            try db.execute(
                sql: "INSERT INTO sighting_pack (min_time, max_time, rows, data) VALUES (?, ?, ?, ?)",
                arguments: [chunk.first!.time, chunk.last!.time, chunk.count, Data(encode(chunk))])
            pending = pending.dropFirst(chunk.count)
        }
    }
}
