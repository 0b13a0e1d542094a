import Foundation
import GenevaTestSupport
import Logging
import Indicators
import MailLogs
import Storage
import TelemetryModel
import Testing
@testable import Sensor

/// A scratch directory with a spool, removed at deinit.
final class Scratch {
    let path: String
    let spool: Spool

    init() throws {
        path = NSTemporaryDirectory() + "geneva-sensor-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        spool = try Spool(path: path + "/spool.sqlite")
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func append(_ file: String, _ text: String) throws {
        let p = path + "/" + file
        if !FileManager.default.fileExists(atPath: p) { #expect(FileManager.default.createFile(atPath: p, contents: nil)) }
        let h = try #require(FileHandle(forWritingAtPath: p))
        try h.seekToEnd()
        h.write(Data(text.utf8))
        try h.close()
    }
}

/// Intel of one indicator: the client address every test line carries.
let indicatorAddress = "203.0.113.66"
let snapshot = IntelHolder.Snapshot(
    indicators: IndicatorSet(entries: [
        IndicatorEntry(indicatorID: 1, kind: .ipv4, value: indicatorAddress, validFrom: Timestamp(seconds: 0), validUntil: nil)
    ]), payload: nil, loadedAt: Date())
let reference = Timestamp(parsing: "2026-11-26T12:00:00Z")!

/// Postfix line `n`: its own queue id and second, so each line is one sighting.
func mailLine(_ n: Int) -> String {
    let queue = String(format: "%010X", 0xA0000000 + n)
    return String(format: "Nov 26 10:%02d:%02d mx1 postfix/smtpd[%d]: %@: client=unknown[%@]\n", (n / 60) % 60, n % 60, 100 + n, queue, indicatorAddress)
}

@Suite struct LogFollowerTests {
    func follower(_ s: Scratch, _ name: String = "mail.log", renameGrace: Double = 0) -> LogFollower {
        LogFollower(
            path: s.path + "/" + name, spool: s.spool, customer: "acme", sensor: "edge", clock: LogClock(reference: reference),
            renameGrace: renameGrace)
    }

    func at(_ seconds: Double) -> Timestamp { Timestamp(nanoseconds: reference.nanoseconds + Int64(seconds * 1e9)) }

    /// Spooled sightings, as the line numbers (offsets) they came from, per source.
    func spooled(_ s: Scratch) throws -> [Int64] {
        try s.spool.oldest(1_000_000).map(\.upload.offset)
    }

    @Test func appendsAreReadOnceWhateverTheWritesLookLike() throws {
        let s = try Scratch()
        var text = ""
        for n in 0..<300 { text += mailLine(n) }
        let bytes = Array(text.utf8)
        var rng = SeededGenerator(seed: 7)
        let f = follower(s)
        var start = 0
        var lines = 0
        // Writes of any size, partial lines included, with reads in between.
        while start < bytes.count {
            let n = Int.random(in: 1...200, using: &rng)
            let end = min(bytes.count, start + n)
            try s.append("mail.log", String(decoding: bytes[start..<end], as: UTF8.self))
            start = end
            lines += try f.step(snapshot, now: reference).lines
        }
        lines += try f.step(snapshot, now: reference).lines
        #expect(lines == 300)
        #expect(try spooled(s) == (1...300).map(Int64.init))
        #expect(try s.spool.logPosition(s.path + "/mail.log")?.offset == Int64(bytes.count))
    }

    @Test func rotationByRenameFinishesTheOldFileThenReadsTheNew() throws {
        let s = try Scratch()
        let f = follower(s)
        for n in 0..<10 { try s.append("mail.log", mailLine(n)) }
        #expect(try f.step(snapshot, now: reference).lines == 10)
        // Lines written before the rename, not yet read: still read from the old file.
        for n in 10..<15 { try s.append("mail.log", mailLine(n)) }
        try FileManager.default.moveItem(atPath: s.path + "/mail.log", toPath: s.path + "/mail.log.1")
        for n in 15..<20 { try s.append("mail.log", mailLine(n)) }
        var lines = 0
        for _ in 0..<3 { lines += try f.step(snapshot, now: reference).lines }
        #expect(lines == 10)
        #expect(f.rotations == 1)
        // Line numbers start over in the new file.
        #expect(try spooled(s) == (1...15).map(Int64.init) + (1...5).map(Int64.init))
    }

    @Test func aRenamedLogIsReadUntilItsWriterLetsGo() throws {
        let s = try Scratch()
        let f = follower(s, renameGrace: 2)
        for n in 0..<10 { try s.append("mail.log", mailLine(n)) }
        #expect(try f.step(snapshot, now: at(0)).lines == 10)
        try FileManager.default.moveItem(atPath: s.path + "/mail.log", toPath: s.path + "/mail.log.1")
        for n in 20..<25 { try s.append("mail.log", mailLine(n)) }
        #expect(try f.step(snapshot, now: at(0.5)).lines == 0)  // renamed: the new file waits
        // The writer has not reopened its log yet: these land in the renamed file.
        for n in 10..<20 { try s.append("mail.log.1", mailLine(n)) }
        #expect(try f.step(snapshot, now: at(1.0)).lines == 10)
        #expect(try f.step(snapshot, now: at(2.5)).lines == 0)  // quiet for 1.5 s only
        #expect(try f.step(snapshot, now: at(3.1)).lines == 5)  // quiet for 2 s: on to the new file
        #expect(f.rotations == 1)
        #expect(try spooled(s) == (1...20).map(Int64.init) + (1...5).map(Int64.init))
    }

    @Test func aLogTruncatedAndRegrownWhileStoppedIsNotResumedMidway() throws {
        let s = try Scratch()
        do {
            let f = follower(s)
            for n in 0..<30 { try s.append("mail.log", mailLine(n)) }
            #expect(try f.step(snapshot, now: reference).lines == 30)
        }
        // While stopped: 5 more lines, then copytruncate, then the log grows past the old position.
        for n in 30..<35 { try s.append("mail.log", mailLine(n)) }
        try FileManager.default.copyItem(atPath: s.path + "/mail.log", toPath: s.path + "/mail.log.1")
        let h = try #require(FileHandle(forWritingAtPath: s.path + "/mail.log"))
        try h.truncate(atOffset: 0)
        try h.close()
        for n in 100..<150 { try s.append("mail.log", mailLine(n)) }
        let again = follower(s)
        var lines = 0
        for _ in 0..<2 { lines += try again.step(snapshot, now: reference).lines }
        // The copy's 5 unread lines (found by the hash of its first bytes), then the new file whole.
        #expect(lines == 55)
        #expect(try spooled(s) == (1...35).map(Int64.init) + (1...50).map(Int64.init))
    }

    @Test func aRestartDuringTheGraceReadsTheRenamedFileOnThenTheNew() throws {
        let s = try Scratch()
        do {
            let f = follower(s, renameGrace: 2)
            for n in 0..<10 { try s.append("mail.log", mailLine(n)) }
            #expect(try f.step(snapshot, now: at(0)).lines == 10)
            try FileManager.default.moveItem(atPath: s.path + "/mail.log", toPath: s.path + "/mail.log.1")
            for n in 10..<15 { try s.append("mail.log.1", mailLine(n)) }
            for n in 100..<103 { try s.append("mail.log", mailLine(n)) }
            #expect(try f.step(snapshot, now: at(0.5)).lines == 5)
        }
        // Stopped in the grace period; the writer still appends to the renamed file.
        for n in 15..<17 { try s.append("mail.log.1", mailLine(n)) }
        let again = follower(s, renameGrace: 2)
        #expect(try again.step(snapshot, now: at(1)).lines == 2)
        #expect(try again.step(snapshot, now: at(3.5)).lines == 3)
        #expect(try spooled(s) == (1...17).map(Int64.init) + (1...3).map(Int64.init))
    }

    @Test func aLogRewrittenBetweenTwoReadsIsReadFromItsStart() throws {
        let s = try Scratch()
        let f = follower(s)
        for n in 0..<10 { try s.append("mail.log", mailLine(n)) }
        #expect(try f.step(snapshot, now: reference).lines == 10)
        // copytruncate, and the log grows past the old position before the next read.
        let h = try #require(FileHandle(forWritingAtPath: s.path + "/mail.log"))
        try h.truncate(atOffset: 0)
        try h.close()
        for n in 100..<130 { try s.append("mail.log", mailLine(n)) }
        #expect(try f.step(snapshot, now: reference).lines == 30)
        #expect(f.truncations == 1)
        #expect(try spooled(s) == (1...10).map(Int64.init) + (1...30).map(Int64.init))
    }

    @Test func copytruncateStartsOverAtTheTop() throws {
        let s = try Scratch()
        let f = follower(s)
        for n in 0..<10 { try s.append("mail.log", mailLine(n)) }
        #expect(try f.step(snapshot, now: reference).lines == 10)
        try FileManager.default.copyItem(atPath: s.path + "/mail.log", toPath: s.path + "/mail.log.1")
        let h = try #require(FileHandle(forWritingAtPath: s.path + "/mail.log"))
        try h.truncate(atOffset: 0)
        try h.close()
        for n in 10..<13 { try s.append("mail.log", mailLine(n)) }
        var lines = 0
        for _ in 0..<3 { lines += try f.step(snapshot, now: reference).lines }
        #expect(lines == 3)
        #expect(f.truncations == 1)
        #expect(try spooled(s).count == 13)
    }

    @Test func aRestartNeitherLosesNorRepeatsALine() throws {
        let s = try Scratch()
        do {
            let f = follower(s)
            for n in 0..<40 { try s.append("mail.log", mailLine(n)) }
            try s.append("mail.log", String(mailLine(40).prefix(20)))  // a line being written at the stop
            #expect(try f.step(snapshot, now: reference).lines == 40)
        }
        try s.append("mail.log", String(mailLine(40).dropFirst(20)))
        for n in 41..<50 { try s.append("mail.log", mailLine(n)) }
        let again = follower(s)
        #expect(try again.step(snapshot, now: reference).lines == 10)
        #expect(try spooled(s) == (1...50).map(Int64.init))
    }

    @Test func aFileRotatedWhileStoppedIsFinishedFirst() throws {
        let s = try Scratch()
        do {
            let f = follower(s)
            for n in 0..<20 { try s.append("mail.log", mailLine(n)) }
            #expect(try f.step(snapshot, now: reference).lines == 20)
        }
        for n in 20..<25 { try s.append("mail.log", mailLine(n)) }
        try FileManager.default.moveItem(atPath: s.path + "/mail.log", toPath: s.path + "/mail.log.1")
        for n in 25..<30 { try s.append("mail.log", mailLine(n)) }
        let again = follower(s)
        var lines = 0
        for _ in 0..<2 { lines += try again.step(snapshot, now: reference).lines }
        #expect(lines == 10)
        #expect(try spooled(s) == (1...25).map(Int64.init) + (1...5).map(Int64.init))
    }

    @Test func aMissingFileIsWaitedFor() throws {
        let s = try Scratch()
        let f = follower(s)
        let first = try f.step(snapshot, now: reference)
        #expect(first.lines == 0 && first.messages.count == 1)
        try s.append("mail.log", mailLine(0))
        #expect(try f.step(snapshot, now: reference).lines == 1)
    }
}

@Suite struct SpoolTests {
    func upload(_ n: Int) -> SightingUpload {
        SightingUpload(
            indicatorKind: "ipv4", indicatorValue: indicatorAddress, customerID: "acme", sensor: "edge", time: Timestamp(seconds: Int64(n)),
            evidence: .ipFlow, key: "udp 1.2.3.4:5 -> 6.7.8.9:53", source: "live:lo", offset: Int64(n), observed: indicatorAddress)
    }

    @Test func sightingsAreKeptUntilAcknowledgedAndIdentityRepeatsAreIgnored() throws {
        let s = try Scratch()
        #expect(try s.spool.append((0..<10).map(upload)) == 10)
        var repeated = upload(3)
        repeated.offset = 99  // same identity (offset is not part of it)
        #expect(try s.spool.append([repeated]) == 0)
        let first = try s.spool.oldest(4)
        #expect(first.map(\.upload) == (0..<4).map(upload))
        try s.spool.acknowledge(through: first.last!.id)
        #expect(try s.spool.depth().count == 6)
        #expect(try s.spool.oldest(100).map(\.upload) == (4..<10).map(upload))
        // A reopened spool has the same content.
        let reopened = try Spool(path: s.spool.path)
        #expect(try reopened.depth().count == 6)
    }
}

@Suite struct ShippingTests {
    /// Refuses (as a 422 would) any batch holding the sighting at `offset`.
    final class Refusing: Delivery, @unchecked Sendable {
        let lock = NSLock()
        var delivered: [SightingUpload] = []
        let refusedOffset: Int64

        init(refusing offset: Int64) { refusedOffset = offset }

        func deliver(_ batch: [SightingUpload], timeout: Double) async throws(DeliveryError) {
            if let i = batch.firstIndex(where: { $0.offset == refusedOffset }) {
                throw DeliveryError(description: "422: line \(i + 1): observed: holds a control character", refused: i)
            }
            lock.withLock { delivered += batch }
        }

        func close() async {}
    }

    @Test func aRefusedSightingIsSetAsideAndTheRestShipped() async throws {
        let s = try Scratch()
        let uploads = (1...50).map(SpoolTests().upload)
        #expect(try s.spool.append(uploads) == 50)
        let receiver = Refusing(refusing: 17)
        let shipper = Shipper(
            spool: s.spool, makeDelivery: { receiver }, batch: 8, maxBackoff: 0.1, metrics: SensorMetrics(), logger: Logger(label: "test"))
        let task = Task { try await shipper.run() }
        for _ in 0..<100 where try s.spool.depth().count > 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        task.cancel()
        _ = try? await task.value
        #expect(try s.spool.depth().count == 0 && s.spool.depth().setAside == 1)
        #expect(receiver.lock.withLock { receiver.delivered.map(\.offset) } == (1...50).filter { $0 != 17 }.map(Int64.init))
        // Queued again (after an intel reload): the same sighting, at the end.
        #expect(try s.spool.requeueRejected() == 1)
        #expect(try s.spool.oldest(10).map(\.upload.offset) == [17])
    }

    /// Refuses batches holding customer "ghost", naming the first such line.
    final class UnknownCustomer: Delivery, @unchecked Sendable {
        let lock = NSLock()
        var delivered: [SightingUpload] = []
        var calls = 0

        func deliver(_ batch: [SightingUpload], timeout: Double) async throws(DeliveryError) {
            lock.withLock { calls += 1 }
            if let i = batch.firstIndex(where: { $0.customerID == "ghost" }) {
                throw DeliveryError(description: "422: line \(i + 1): unknown customer id ghost", refused: i)
            }
            lock.withLock { delivered += batch }
        }

        func close() async {}
    }

    @Test func theOtherSightingsOfARefusedCustomerGoAsideTogether() async throws {
        let s = try Scratch()
        let uploads = (1...40).map { n -> SightingUpload in
            var u = SpoolTests().upload(n)
            if n % 4 == 0 { u.customerID = "ghost" }
            return u
        }
        #expect(try s.spool.append(uploads) == 40)
        let receiver = UnknownCustomer()
        let shipper = Shipper(
            spool: s.spool, makeDelivery: { receiver }, batch: 40, maxBackoff: 0.1, metrics: SensorMetrics(), logger: Logger(label: "test"))
        let task = Task { try await shipper.run() }
        for _ in 0..<100 where try s.spool.depth().count > 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        task.cancel()
        _ = try? await task.value
        #expect(try s.spool.depth().setAside == 10)
        #expect(receiver.lock.withLock { receiver.calls } == 2)  // one refusal, one delivery
        #expect(receiver.lock.withLock { receiver.delivered.count } == 30)
    }

    @Test func aSpoolOfTheFirstSchemaIsUpgraded() throws {
        let s = try Scratch()
        let old = s.path + "/old.sqlite"
        let schema = """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('spool-1');
            CREATE TABLE sighting (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, customer TEXT NOT NULL,
              sensor TEXT NOT NULL, time INTEGER NOT NULL, evidence TEXT NOT NULL, key TEXT NOT NULL, source TEXT NOT NULL,
              "offset" INTEGER NOT NULL, observed TEXT NOT NULL, spooled REAL NOT NULL,
              UNIQUE (kind, value, customer, sensor, evidence, key, time));
            CREATE TABLE log_position (path TEXT PRIMARY KEY, device INTEGER NOT NULL, inode INTEGER NOT NULL,
              "offset" INTEGER NOT NULL, lines INTEGER NOT NULL);
            CREATE TABLE scanned_file (path TEXT PRIMARY KEY, size INTEGER NOT NULL, modified INTEGER NOT NULL,
              scanned REAL NOT NULL, summary TEXT NOT NULL);
            INSERT INTO log_position VALUES ('/var/log/mail.log', 1, 2, 300, 4);
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(sys.argv[2]); db.commit()", old, schema]
        try python.run()
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        let spool = try Spool(path: old)
        #expect(try spool.logPosition("/var/log/mail.log") == Spool.LogPosition(device: 1, inode: 2, offset: 300, lines: 4))
        #expect(try spool.append([SpoolTests().upload(1)], log: ("/var/log/mail.log", .init(device: 1, inode: 2, offset: 400, lines: 5))) == 1)
        #expect(try spool.depth().setAside == 0)
    }

    @Test func aSightingTheReceiverWouldRefuseIsSetAsideWhenSpooled() throws {
        let s = try Scratch()
        var long = SpoolTests().upload(1)
        long.observed = String(repeating: "a", count: 5000) + ".evil.example"
        var control = SpoolTests().upload(2)
        control.key = "tcp 1.2.3.4:5 -> 6.7.8.9:80\u{0}"
        #expect(try s.spool.append([long, control, SpoolTests().upload(3)]) == 1)
        #expect(try s.spool.depth().setAside == 2)
        // Kept as evidence, never queued for shipping again.
        #expect(try s.spool.requeueRejected() == 0)
        #expect(try s.spool.depth().setAside == 2)
    }
}

@Suite struct IntelReloadTests {
    @Test func aChangedFileGivesANewSnapshotAndAFailedLoadKeepsTheOld() throws {
        let s = try Scratch()
        let file = s.path + "/intel.csv"
        try "kind,value,actor,actor_country\ndomain,alpha-cdn.net,APT-Alpha,RU\n".write(toFile: file, atomically: true, encoding: .utf8)
        let loader = IntelLoader(files: [file], scratchDirectory: s.path, payload: true)
        let first = try loader.load(generation: 1)
        #expect(first.snapshot.indicators.count == 1 && first.snapshot.generation == 1)
        #expect(first.snapshot.payload != nil)
        let holder = IntelHolder(first.snapshot)
        let before = loader.fingerprint()
        try "kind,value,actor,actor_country\ndomain,alpha-cdn.net,APT-Alpha,RU\nipv4,203.0.113.66,APT-Alpha,RU\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(loader.fingerprint() != before)
        let second = try loader.load(generation: 2)
        holder.replace(second.snapshot)
        #expect(holder.current.indicators.count == 2 && holder.current.generation == 2)
        // A broken file fails the load; the holder keeps generation 2.
        try "{ not json".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: SensorError.self) { try loader.load(generation: 3) }
        #expect(holder.current.generation == 2)
        // The scratch stores are gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path).filter { $0.hasPrefix("intel-scratch") }.isEmpty)
    }
}

@Suite struct DirectoryWatcherTests {
    @Test func settledFilesAreScannedOnceAndChangedFilesAgain() throws {
        let s = try Scratch()
        let dir = s.path + "/pcaps"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let intel = IntelHolder.Snapshot(
            indicators: IndicatorSet(entries: [
                IndicatorEntry(indicatorID: 1, kind: .domain, value: "alpha-cdn.net", validFrom: Timestamp(seconds: 0), validUntil: nil)
            ]), payload: nil, loadedAt: Date())
        let capture = PacketBuilder.dnsCapture(names: ["www.alpha-cdn.net", "example.org", "alpha-cdn.net"])
        #expect(FileManager.default.createFile(atPath: dir + "/a.pcap", contents: Data(capture)))
        #expect(FileManager.default.createFile(atPath: dir + "/.partial.pcap", contents: Data(capture.prefix(30))))
        #expect(FileManager.default.createFile(atPath: dir + "/junk.bin", contents: Data([0, 1, 2, 0, 0, 0])))
        let w = DirectoryWatcher(directory: dir, spool: s.spool, customer: "acme", sensor: "edge", settle: 5, options: .standard)
        // Not settled yet: seen, not scanned.
        #expect(try w.step(intel, now: 1000).files == 0)
        let step = try w.step(intel, now: 1006)
        #expect(step.files == 1 && step.sightings == 2)
        #expect(w.filesFailed == 1)  // junk.bin: counted and logged, not retried
        #expect(try w.step(intel, now: 1012).files == 0)
        // A new watcher (restart) does not scan it again.
        let restarted = DirectoryWatcher(directory: dir, spool: s.spool, customer: "acme", sensor: "edge", settle: 0, options: .standard)
        #expect(try restarted.step(intel, now: 2000).files == 0)
        #expect(try s.spool.depth().count == 2)
        // Rewritten (a capture file reused): scanned again once settled.
        let other = PacketBuilder.dnsCapture(names: ["mail.alpha-cdn.net"], start: 1_782_100_000)
        #expect(FileManager.default.createFile(atPath: dir + "/a.pcap", contents: Data(other)))
        #expect(try restarted.step(intel, now: 2001).files == 1)
        #expect(try s.spool.depth().count == 3)
    }
}
