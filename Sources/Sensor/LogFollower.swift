import Foundation
import Indicators
import MailLogs
import Storage
import TelemetryModel
import WireParsing

/// Follows one mail log as it grows, like `tail -F`, and survives rotation:
///
/// - by rename (logrotate's default): the renamed file is read until it has
///   not grown for `renameGrace` seconds (the writer may add lines until it
///   reopens its log), then to its end, then the new file at the path from
///   its start;
/// - by copytruncate: the file shrinking below the read position means it
///   was truncated; reading starts over at 0.
///
/// Only complete lines are consumed. The position (device, inode, byte
/// offset after the last complete line, lines read) is committed to the
/// spool in the same transaction as that read's sightings, so a restart
/// (also after `kill -9`) neither loses nor repeats a line. After a restart
/// the file is first replayed up to the position without emitting, which
/// rebuilds the decoder's state (message assembly by queue id, Exchange's
/// `#Fields:` header, line numbers). The position also holds a hash of the
/// file's first bytes (up to 1 KiB), which tells a reused inode, or a file
/// truncated and regrown while the sensor was stopped, from the file that
/// was read. A file renamed (or copied by copytruncate) away while the
/// sensor was stopped is found by that hash in the same directory and
/// finished first.
package final class LogFollower {
    package let path: String
    private let spool: Spool
    private let customer: String
    private let sensor: String
    private var clock: LogClock
    private let startAtEnd: Bool
    private let renameGrace: Int64
    /// Largest read per step.
    static let readSize = 1 << 20
    /// First bytes of a file hashed to recognise it.
    static let headBytes: Int64 = 1024
    /// Since when (ns) the renamed-away file has not grown; nil: not renamed.
    private var quietSince: Int64?

    private var file: OpenFile?
    private var decoder: MailLogDecoder
    private var reportedMissing = false

    /// Counters since start (metrics).
    package private(set) var linesRead: Int64 = 0
    package private(set) var bytesRead: Int64 = 0
    package private(set) var rotations = 0
    package private(set) var truncations = 0
    package private(set) var anomalies = AnomalyCounts()

    private struct OpenFile {
        var handle: FileHandle
        var device: UInt64
        var inode: UInt64
        var offset: Int64
        var lines: Int64
        var headLength: Int64 = 0
        var headHash: Int64 = 0
    }

    package init(
        path: String, spool: Spool, customer: String, sensor: String, clock: LogClock, startAtEnd: Bool = false, renameGrace: Double = 5
    ) {
        self.path = path
        self.spool = spool
        self.customer = customer
        self.sensor = sensor
        self.clock = clock
        self.startAtEnd = startAtEnd
        self.renameGrace = Int64(max(0, min(renameGrace, 3600)) * 1e9)
        decoder = MailLogDecoder(source: path, clock: clock)
    }

    deinit { try? file?.handle.close() }

    /// What one step read.
    package struct Step: Sendable {
        package var lines = 0
        package var sightings = 0
        package var messages: [String] = []
    }

    /// Reads what was appended since the last step (and handles rotation);
    /// commits sightings and position. Call repeatedly.
    package func step(_ intel: IntelHolder.Snapshot, now: Timestamp) throws -> Step {
        var result = Step()
        clock.reference = now
        decoder.clock.reference = now
        if file == nil {
            try open(&result, intel)
            if file == nil { return result }
        }
        // Its first bytes changed: truncated and written again since the last
        // read (copytruncate between two polls). Checked before reading on.
        if let f = file, f.headLength > 0, Self.head(f.handle, f.headLength) != f.headHash {
            truncations += 1
            result.messages.append("\(path): rewritten from its start (copytruncate); reading from its start")
            try? f.handle.close()
            file = nil
            quietSince = nil
            try start(device: f.device, inode: f.inode, at: nil, &result, intel)
        }
        let before = file?.offset
        try drain(&result, intel, final: false)
        // Rotation: the path names another file now (or none yet).
        guard let current = file else { return result }
        let atPath = Self.identity(path)
        if atPath == nil || atPath! != (current.device, current.inode) {
            // Renamed away: the writer may still append to it until it reopens its log.
            if quietSince == nil || current.offset != before { quietSince = now.nanoseconds }
            guard now.nanoseconds - quietSince! >= renameGrace else { return result }
            quietSince = nil
            try drain(&result, intel, final: true)
            try? current.handle.close()
            file = nil
            rotations += 1
            result.messages.append("\(path): rotated (renamed); reading the new file from its start")
            if atPath != nil {
                try start(device: atPath!.0, inode: atPath!.1, at: nil, &result, intel)
                try drain(&result, intel, final: false)
            }
        } else if let size = Self.size(path), size < current.offset {
            quietSince = nil
            truncations += 1
            result.messages.append("\(path): truncated (copytruncate) to \(size) bytes; reading from its start")
            try? current.handle.close()
            file = nil
            try start(device: current.device, inode: current.inode, at: nil, &result, intel)
            try drain(&result, intel, final: false)
        } else {
            quietSince = nil  // the path names the file being read
        }
        return result
    }

    /// First open: resumes from the spool's position when there is one.
    private func open(_ result: inout Step, _ intel: IntelHolder.Snapshot) throws {
        guard let (device, inode) = Self.identity(path) else {
            if !reportedMissing { result.messages.append("\(path): does not exist (yet); waiting for it") }
            reportedMissing = true
            return
        }
        reportedMissing = false
        guard let saved = try spool.logPosition(path) else {
            try start(device: device, inode: inode, at: nil, &result, intel, atEnd: startAtEnd)
            return
        }
        let sameFile = (saved.device, saved.inode) == (device, inode) && Self.head(path, saved.headLength) == saved.headHash
        if sameFile, let size = Self.size(path), size >= saved.offset {
            try start(device: device, inode: inode, at: saved, &result, intel)
            return
        }
        // Rotated (renamed, or copied and truncated) while stopped: finish
        // the file read before if it is still beside the path. It is known
        // by its first bytes (and, while they are fewer than a line, by inode).
        let directory = (path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for name in names.sorted() {
            let candidate = (directory.isEmpty ? "" : directory + "/") + name
            guard candidate != path, let id = Self.identity(candidate), let size = Self.size(candidate), size >= saved.offset else { continue }
            let recognised = saved.headLength > 0
                ? Self.head(candidate, saved.headLength) == saved.headHash : id == (saved.device, saved.inode)
            guard recognised else { continue }
            result.messages.append("\(path): rotated to \(candidate) while the sensor was stopped; finishing it first")
            // Read on as the renamed file of a running follower: until quiet
            // (its writer may not have reopened its log yet), then the path.
            try start(device: id.0, inode: id.1, at: saved, &result, intel, readFrom: candidate)
            quietSince = nil
            if file != nil { return }
        }
        result.messages.append("\(path): not the file read before the stop (rotated away, truncated or replaced); its unread lines, if any, are lost")
        try start(device: device, inode: inode, at: nil, &result, intel)
    }

    /// Opens the file (at `readFrom`, default the path) and positions it:
    /// at `saved` (after replaying up to it), at its end, or at 0.
    private func start(
        device: UInt64, inode: UInt64, at saved: Spool.LogPosition?, _ result: inout Step, _ intel: IntelHolder.Snapshot,
        atEnd: Bool = false, readFrom: String? = nil
    ) throws {
        guard let handle = FileHandle(forReadingAtPath: readFrom ?? path) else {
            result.messages.append("\(readFrom ?? path): cannot be opened (permission denied?)")
            return
        }
        decoder = MailLogDecoder(source: path, clock: clock)
        var opened = OpenFile(handle: handle, device: device, inode: inode, offset: 0, lines: 0)
        if let saved {
            // Replay without emitting, to rebuild the decoder's state.
            var remaining = saved.offset
            while remaining > 0 {
                guard let data = try? handle.read(upToCount: Int(min(remaining, Int64(Self.readSize)))), !data.isEmpty else { break }
                remaining -= Int64(data.count)
                decoder.feed(Array(data)[...], wanted: { _, _ in false }) { _ in }
            }
            opened.offset = saved.offset - remaining
            opened.lines = Int64(decoder.lineCount)
        } else if atEnd {
            let end = (try? handle.seekToEnd()) ?? 0
            // From the start of the last (partial) line on: back to the last newline.
            opened.offset = Self.lastLineStart(handle, end: Int64(end))
            try? handle.seek(toOffset: UInt64(opened.offset))
        }
        file = opened
        // Persist where reading starts (a new file, or its inode after a rotation).
        try spool.append([], log: (path, position(&file!)))
    }

    /// Reads complete lines to the end of the open file and commits them.
    /// `final`: the file will not grow again (rotated away), so a last line
    /// without a newline is a line.
    private func drain(_ result: inout Step, _ intel: IntelHolder.Snapshot, final: Bool) throws {
        guard var f = file else { return }
        defer { file = f }
        while true {
            try? f.handle.seek(toOffset: UInt64(f.offset))
            guard let data = try? f.handle.read(upToCount: Self.readSize), !data.isEmpty else { break }
            let bytes = Array(data)
            let last = data.count < Self.readSize
            var take = bytes.count
            if final && last {
                // the whole rest, a last line without a newline included
            } else if let lastNewline = bytes.lastIndex(of: 0x0A) {
                take = lastNewline + 1
            } else if !final, bytes.count <= MailLogDecoder.maxLineLength {
                break  // a line still being written
            }
            var uploads: [SightingUpload] = []
            let before = decoder.lineCount
            let emit: (Observable) -> Void = { observable in
                for match in intel.indicators.matches(observable) {
                    uploads.append(SightingUpload(observable, match, customer: self.customer, sensor: self.sensor, source: self.path))
                }
            }
            decoder.feed(bytes[..<take], wanted: intel.indicators.mayMatch, emit)
            if final, last, bytes.last != 0x0A { decoder.finish(emit) }
            let lines = decoder.lineCount - before
            f.offset += Int64(take)
            f.lines = Int64(decoder.lineCount)
            try spool.append(uploads, log: (path, position(&f)))
            result.lines += lines
            result.sightings += uploads.count
            linesRead += Int64(lines)
            bytesRead += Int64(take)
            if last { break }
        }
        anomalies = decoder.anomalies
    }

    /// The position to commit; the head hash grows with what was read, up to ``headBytes``.
    private func position(_ f: inout OpenFile) -> Spool.LogPosition {
        let wanted = min(Self.headBytes, f.offset)
        if f.headLength < wanted, let hash = Self.head(f.handle, wanted) {
            f.headLength = wanted
            f.headHash = hash
        }
        return Spool.LogPosition(
            device: f.device, inode: f.inode, offset: f.offset, lines: f.lines, headLength: f.headLength, headHash: f.headHash)
    }

    /// Hash of the first `length` bytes of the file (nil if it has fewer).
    static func head(_ path: String, _ length: Int64) -> Int64? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return head(handle, length)
    }

    static func head(_ handle: FileHandle, _ length: Int64) -> Int64? {
        guard length > 0 else { return 0 }
        // pread: the handle's own offset is left alone.
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let n = bytes.withUnsafeMutableBytes { pread(handle.fileDescriptor, $0.baseAddress, Int(length), 0) }
        guard n == Int(length) else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: hash)
    }

    static func identity(_ path: String) -> (UInt64, UInt64)? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    static func size(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// Offset just after the last newline before `end` (0 if none in the last 64 KiB).
    static func lastLineStart(_ handle: FileHandle, end: Int64) -> Int64 {
        let back = min(end, 65_536)
        try? handle.seek(toOffset: UInt64(end - back))
        guard let data = try? handle.read(upToCount: Int(back)), let i = Array(data).lastIndex(of: 0x0A) else { return end - back == 0 ? 0 : end }
        return end - back + Int64(i) + 1
    }
}
