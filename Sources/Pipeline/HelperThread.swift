import Dispatch
import Foundation
import Synchronization

/// A long-lived thread that runs the work handed to it, in order, for one
/// scan; it ends when its owner lets go of it (also when a scan stops
/// half-way: work still queued then is dropped, nobody waits for it).
///
/// A thread of its own rather than the global dispatch queue, whose pool the
/// Swift concurrency runtime shares with the scan's caller. (What kept the
/// helper idle at first was not the queue but one-line runs: a line
/// straddling two chunks was a run of its own, with nothing to share.)
final class HelperThread {
    private let queue = WorkQueue()

    init() {
        let queue = self.queue
        Thread.detachNewThread { queue.runUntilStopped() }
    }

    deinit { queue.stop() }

    /// Queues `work`; the caller learns of its end by its own means (a semaphore).
    func run(_ work: @escaping @Sendable () -> Void) {
        queue.submit(work)
    }
}

/// The helper thread's side: what it holds (not the `HelperThread`, so that
/// the owner's release ends it).
private final class WorkQueue: Sendable {
    private let state = Mutex<(work: [@Sendable () -> Void], stopped: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)

    func submit(_ work: @escaping @Sendable () -> Void) {
        state.withLock { $0.work.append(work) }
        wake.signal()
    }

    func stop() {
        state.withLock { $0.stopped = true }
        wake.signal()
    }

    func runUntilStopped() {
        while true {
            wake.wait()
            let next: (@Sendable () -> Void)?? = state.withLock { state in
                if state.stopped { return .some(nil) }
                return state.work.isEmpty ? nil : state.work.removeFirst()
            }
            switch next {
            case .some(let work?): work()
            case .some(nil): return
            case nil: continue
            }
        }
    }
}
