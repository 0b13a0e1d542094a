import Dispatch
import Indicators
import PacketDecoding
import Synchronization
import TelemetryModel
import WireParsing

/// Drives the decoding of a capture file on up to `threads` threads: this
/// thread reads the records and deals them out by flow (the hash of a
/// packet's two IP addresses, so both directions of a flow and all fragments
/// of a datagram meet in one ``CaptureDecoder``); each decoder works through
/// its share of a chunk on its own thread; their observables are then
/// emitted in record order, as one decoder would have emitted them.
///
/// Differences from one decoder, by construction: the limits on flows,
/// reassembly memory and fragment queues hold per decoder (so in total
/// `threads` times the named constants), and the observables of streams
/// still open at the end of the file come decoder by decoder.
struct CaptureFeed {
    private var reader = CaptureReader()
    private var decoders: [DecoderBox]
    private var helpers: [HelperThread] = []

    init(source: String, payload: PayloadMatcher?, threads: Int) {
        decoders = (0..<max(1, threads)).map { _ in DecoderBox(CaptureDecoder(source: source, payload: payload)) }
    }

    var recordCount: Int { reader.recordCount }
    var observableCount: Int { decoders.reduce(0) { $0 + $1.read { $0.observableCount } } }
    var firstTime: Timestamp? { decoders.compactMap { $0.read { $0.firstTime } }.min() }
    var lastTime: Timestamp? { decoders.compactMap { $0.read { $0.lastTime } }.max() }
    var anomalies: AnomalyCounts {
        var all = reader.anomalies
        for d in decoders { all.merge(d.read { $0.anomalies }) }
        return all
    }

    mutating func feed(_ chunk: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void) throws {
        let n = decoders.count
        if n == 1 {
            // One thread: records go straight to the decoder (no copies, no merge).
            let decoder = decoders[0]
            try reader.feed(chunk) { record in
                try decoder.mutate { try $0.record(record.data, linkType: record.linkType, timeNanoseconds: record.timestampNanoseconds, offset: record.fileOffset, emit) }
            }
            return
        }
        var shares = Array(repeating: RecordShare(), count: n)
        var sequence = 0
        try reader.feed(chunk) { record in
            let share = CaptureFeed.share(of: record.data, linkType: record.linkType, among: n)
            shares[share].append(record, sequence: sequence)
            sequence += 1
        }
        guard sequence > 0 else { return }
        try decodeAndEmit(shares, emit) { decoder, share, out in
            try share.forEach { data, record in
                try decoder.record(data, linkType: record.linkType, timeNanoseconds: record.time, offset: record.offset) {
                    out.append((record.sequence, $0))
                }
            }
        }
    }

    /// End of the file: a partial last record is an anomaly; what open
    /// streams still hold is reported, decoder by decoder.
    mutating func finish(_ emit: (Observable) throws -> Void) throws {
        try reader.finish()
        let offset = reader.consumed
        let time = lastTime
        let shares = Array(repeating: RecordShare(), count: decoders.count)
        try decodeAndEmit(shares, emit) { decoder, _, out in
            try decoder.finishStreams(offset: offset, time: time) { out.append((0, $0)) }
        }
        helpers = []
    }

    /// Runs `work` for decoder i and share i, decoder 0 on this thread and
    /// the others on helper threads, then emits every observable by sequence.
    private mutating func decodeAndEmit(
        _ shares: [RecordShare], _ emit: (Observable) throws -> Void,
        _ work: @escaping @Sendable (inout CaptureDecoder, RecordShare, inout [(Int, Observable)]) throws -> Void
    ) throws {
        let n = decoders.count
        while helpers.count < n - 1 { helpers.append(HelperThread()) }
        let results = Mutex<[Result<[(Int, Observable)], any Error>?]>(Array(repeating: nil, count: n))
        let done = DispatchSemaphore(value: 0)
        for i in 1..<max(1, n) {
            let box = decoders[i], share = shares[i]
            helpers[i - 1].run {
                let result = Result { () throws -> [(Int, Observable)] in
                    var out: [(Int, Observable)] = []
                    try box.mutate { try work(&$0, share, &out) }
                    return out
                }
                results.withLock { $0[i] = result }
                done.signal()
            }
        }
        var mine: [(Int, Observable)] = []
        let first = Result { try decoders[0].mutate { try work(&$0, shares[0], &mine) } }
        for _ in 1..<max(1, n) { done.wait() }
        try first.get()
        var lists = [mine]
        for i in 1..<max(1, n) { lists.append(try results.withLock { $0[i]! }.get()) }
        // Each list is in sequence order; merge them (stable: ties keep decoder order).
        var next = Array(repeating: 0, count: lists.count)
        while true {
            var best = -1
            for (k, list) in lists.enumerated() where next[k] < list.count {
                if best < 0 || list[next[k]].0 < lists[best][next[best]].0 { best = k }
            }
            guard best >= 0 else { break }
            try emit(lists[best][next[best]].1)
            next[best] += 1
        }
    }

    /// Which of `n` decoders a record goes to (0 for anything that is not IP).
    static func share(of data: ArraySlice<UInt8>, linkType: UInt32, among n: Int) -> Int {
        let h = PacketDecoder.addressPairHash(data, linkType: linkType)
        // Mixed so that address pairs differing in low bits spread evenly.
        return Int(((h &* 0x9E37_79B9_7F4A_7C15) >> 32) % UInt64(n))
    }
}

/// One decoder's records of a chunk, copied into a buffer of its own (so
/// that threads do not share the chunk's reference count).
struct RecordShare: Sendable {
    struct Record: Sendable {
        var start: Int
        var count: Int
        var linkType: UInt32
        var time: Int64
        var offset: Int64
        var sequence: Int
    }

    private var bytes: [UInt8] = []
    private var records: [Record] = []

    mutating func append(_ record: PcapRecord, sequence: Int) {
        records.append(
            Record(
                start: bytes.count, count: record.data.count, linkType: record.linkType, time: record.timestampNanoseconds,
                offset: record.fileOffset, sequence: sequence))
        bytes.append(contentsOf: record.data)
    }

    func forEach(_ body: (ArraySlice<UInt8>, Record) throws -> Void) rethrows {
        for r in records { try body(bytes[r.start..<(r.start + r.count)], r) }
    }
}

/// A decoder that one thread at a time works with (the lock is held for a
/// whole share; the feed's thread waits for the helpers before it reads).
private final class DecoderBox: Sendable {
    private let decoder: Mutex<CaptureDecoder>

    init(_ decoder: CaptureDecoder) {
        self.decoder = Mutex(decoder)
    }

    func mutate<T>(_ body: (inout CaptureDecoder) throws -> T) throws -> T {
        try decoder.withLock { try body(&$0) }
    }

    func read<T>(_ body: (CaptureDecoder) -> T) -> T {
        decoder.withLock { body($0) }
    }
}
