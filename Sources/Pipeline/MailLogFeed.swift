import Dispatch
import Foundation
import MailLogs
import Synchronization
import TelemetryModel

/// Drives a ``MailLogDecoder`` over a file with its lines parsed on up to two
/// threads: while the calling thread applies one run of lines (messages,
/// totals, observables: the part that needs the lines in order), a second
/// thread parses the next run, and the calling thread helps with what is
/// left of it. Runs are applied in input order, so the observables, counts
/// and line numbers are those of ``MailLogDecoder/feed(_:wanted:_:)`` on the
/// same input (a test compares them).
///
/// With `threads: 1` the same code runs on the calling thread alone.
struct MailLogFeed {
    /// Pieces a run is cut into (at line ends), so that the two threads
    /// finish a run at about the same time: ~500 lines each.
    static let defaultPieceSize = 64 << 10

    private(set) var decoder: MailLogDecoder
    private var framer = LineFramer()
    private let wanted: @Sendable (Evidence, ArraySlice<UInt8>) -> Bool
    private let threads: Int
    private let pieceSize: Int
    /// Runs submitted and not applied yet, oldest first (at most two: the
    /// helper always has the next chunk queued while this one is applied).
    private var inFlight: [ParseJob] = []
    /// The second thread, started with the first run worth sharing.
    private var helper: HelperThread?

    init(
        decoder: MailLogDecoder, threads: Int, pieceSize: Int = MailLogFeed.defaultPieceSize,
        wanted: @escaping @Sendable (Evidence, ArraySlice<UInt8>) -> Bool
    ) {
        self.decoder = decoder
        self.threads = max(1, threads)
        self.pieceSize = max(1, pieceSize)
        self.wanted = wanted
    }

    /// A chunk's lines become one job (so that applying the previous chunk
    /// overlaps with parsing all of this one).
    mutating func feed(_ chunk: ArraySlice<UInt8>, _ emit: (Observable) throws -> Void) throws {
        var pieces: [ParseJob.Piece] = []
        framer.frame(chunk) { region in
            switch region {
            case .lines(let lines): pieces += MailLogFeed.pieces(of: lines, size: pieceSize).map { .lines(lines[$0]) }
            case .joined(let line): pieces.append(.lines(line[...]))
            case .tooLong: pieces.append(.parsed(ParsedLines.tooLong))
            }
        }
        guard !pieces.isEmpty else { return }
        try submit(ParseJob(pieces: pieces, parser: decoder.parser, wanted: wanted), emit)
    }

    /// Queues `job` for the helper, then finishes the run before it (helping
    /// with what the helper has not claimed yet) and applies it: the helper
    /// moves on to `job` meanwhile and is rarely left without work.
    private mutating func submit(_ job: ParseJob, _ emit: (Observable) throws -> Void) throws {
        if threads > 1, job.pieceCount > 1 {
            if helper == nil { helper = HelperThread() }
            job.shared = true
            helper!.run {
                job.work()
                job.done.signal()
            }
        }
        inFlight.append(job)
        if inFlight.count > 1 { try applyOldest(emit) }
    }

    private mutating func applyOldest(_ emit: (Observable) throws -> Void) throws {
        let job = inFlight.removeFirst()
        job.work()
        if job.shared { job.done.wait() }
        for (lines, base) in job.results() { try decoder.apply(lines, base: base, emit) }
    }

    /// End of input: the last run, then a last line without a newline.
    mutating func finish(_ emit: (Observable) throws -> Void) throws {
        while !inFlight.isEmpty { try applyOldest(emit) }
        helper = nil
        if let last = framer.finish() { try decoder.applyLast(last, emit) }
    }

    /// Cuts `lines` after a newline about every `size` bytes.
    static func pieces(of lines: ArraySlice<UInt8>, size: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = lines.startIndex
        while start < lines.endIndex {
            var end = min(start + size, lines.endIndex)
            while end < lines.endIndex, lines[end - 1] != 0x0A { end += 1 }
            out.append(start..<end)
            start = end
        }
        return out
    }
}

/// One chunk's lines being parsed: its pieces are claimed one at a time by
/// whichever thread is free, and their results kept by piece index.
private final class ParseJob: Sendable {
    enum Piece: Sendable {
        /// Complete lines (the last one may lack its newline: a joined line).
        case lines(ArraySlice<UInt8>)
        /// Parsed already (a line too long to parse).
        case parsed(ParsedLines)
    }

    private let pieces: [Piece]
    private let parser: MailLineParser
    private let wanted: @Sendable (Evidence, ArraySlice<UInt8>) -> Bool
    private let next = Atomic<Int>(0)
    private let parsed: Mutex<[(ParsedLines, ArraySlice<UInt8>)?]>
    /// Signalled by the helper thread when its `work()` has returned.
    let done = DispatchSemaphore(value: 0)
    /// Handed to the helper thread (set before, read after: by the feed's thread only).
    nonisolated(unsafe) var shared = false

    init(pieces: [Piece], parser: MailLineParser, wanted: @escaping @Sendable (Evidence, ArraySlice<UInt8>) -> Bool) {
        self.pieces = pieces
        self.parser = parser
        self.wanted = wanted
        self.parsed = Mutex(Array(repeating: nil, count: pieces.count))
    }

    var pieceCount: Int { pieces.count }

    /// Parses pieces until none is left unclaimed.
    func work() {
        var parser = self.parser
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < pieces.count else { return }
            switch pieces[i] {
            case .parsed(let lines):
                parsed.withLock { $0[i] = (lines, []) }
            case .lines(let lines):
                // A copy of its own: parsing retains and releases the buffer at
                // every slice, and two threads doing so on one shared buffer
                // contend for its reference count (perf: swift_retain and
                // swift_release rose to 12 % of the samples each).
                let piece = Array(lines)[...]
                var out = ParsedLines()
                parser.parseLines(piece, into: &out, wanted: wanted)
                parsed.withLock { $0[i] = (out, piece) }
            }
        }
    }

    /// The pieces' results in order, each with the buffer its spans index;
    /// only once every `work()` has returned.
    func results() -> [(ParsedLines, ArraySlice<UInt8>)] {
        parsed.withLock { $0.map { $0! } }
    }
}
