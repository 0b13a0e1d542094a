import Metrics
import NIOPosix
import Storage

/// Re-correlates after uploads without making them wait: one rebuild at a
/// time on NIO's thread pool, and uploads that arrive during a rebuild are
/// covered by one more rebuild after it (a full rebuild takes seconds at
/// millions of sightings; a sensor's POST should not). Reads between an
/// upload and the end of its rebuild see the previous clusters;
/// `/healthz` says whether a rebuild is running.
actor CorrelationScheduler {
    private let store: any GenevaStore
    private var running = false
    private var again = false
    /// Sightings up to this id were found not to need clustering.
    private var checkedThrough: Int64 = 0
    private let failures = Counter(label: "geneva_correlation_failures_total")

    init(store: any GenevaStore) {
        self.store = store
    }

    /// New sightings were stored: make sure a rebuild runs after now.
    func poke() {
        if running {
            again = true
            return
        }
        running = true
        Task { await self.run() }
    }

    var isIdle: Bool { !running }

    private func run() async {
        repeat {
            again = false
            let store = self.store
            let checked = checkedThrough
            do {
                checkedThrough = try await NIOThreadPool.singleton.runIfActive { try store.correlateIfNeeded(checkedThrough: checked) }.checkedThrough
            } catch {
                // The sightings are stored; the next upload (or `geneva correlate`) retries.
                failures.increment()
            }
        } while again
        running = false
    }
}
