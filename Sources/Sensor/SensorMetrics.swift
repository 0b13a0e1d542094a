import Metrics
import Foundation
import WireParsing

/// The sensor's metrics (swift-metrics; `/metrics` exports them through
/// swift-prometheus). Counters that sources keep themselves (decoder
/// totals, libpcap's cumulative drops) are turned into increments here.
package final class SensorMetrics: Sendable {
    private let intelIndicators = Gauge(label: "geneva_sensor_intel_indicators")
    private let intelGeneration = Gauge(label: "geneva_sensor_intel_generation")
    private let spoolDepth = Gauge(label: "geneva_sensor_spool_depth")
    private let shippingLag = Gauge(label: "geneva_sensor_shipping_lag_seconds")
    private let shipped = Counter(label: "geneva_sensor_shipped_total")
    private let shipFailures = Counter(label: "geneva_sensor_ship_failures_total")

    package init() {}

    /// What one source did in one step.
    package func source(_ name: String, packets: Int = 0, bytes: Int = 0, flows: Int = 0, lines: Int = 0, files: Int = 0, sightings: Int = 0) {
        let dimensions = [("source", name)]
        if packets > 0 { Counter(label: "geneva_sensor_packets_total", dimensions: dimensions).increment(by: packets) }
        if bytes > 0 { Counter(label: "geneva_sensor_bytes_total", dimensions: dimensions).increment(by: bytes) }
        if flows > 0 { Counter(label: "geneva_sensor_flows_total", dimensions: dimensions).increment(by: flows) }
        if lines > 0 { Counter(label: "geneva_sensor_log_lines_total", dimensions: dimensions).increment(by: lines) }
        if files > 0 { Counter(label: "geneva_sensor_files_scanned_total", dimensions: dimensions).increment(by: files) }
        if sightings > 0 { Counter(label: "geneva_sensor_sightings_total", dimensions: dimensions).increment(by: sightings) }
    }

    /// libpcap's counters of an interface (cumulative since activation).
    package func interface(_ name: String, received: UInt64, dropped: UInt64, interfaceDropped: UInt64) {
        let dimensions = [("interface", name)]
        Gauge(label: "geneva_sensor_pcap_received", dimensions: dimensions).record(Double(received))
        Gauge(label: "geneva_sensor_kernel_drops", dimensions: dimensions).record(Double(dropped))
        Gauge(label: "geneva_sensor_interface_drops", dimensions: dimensions).record(Double(interfaceDropped))
    }

    /// A source's cumulative anomaly counts; `previous` is what it reported last.
    package func anomalies(_ now: AnomalyCounts, previous: inout AnomalyCounts) {
        for (name, count) in now.counts {
            let delta = count - (previous.counts[name] ?? 0)
            if delta > 0 { Counter(label: "geneva_sensor_anomalies_total", dimensions: [("name", name)]).increment(by: delta) }
        }
        previous = now
    }

    package func intel(indicators: Int, generation: Int) {
        intelIndicators.record(Double(indicators))
        intelGeneration.record(Double(generation))
    }

    package func intelReload(succeeded: Bool) {
        Counter(label: "geneva_sensor_intel_reloads_total", dimensions: [("result", succeeded ? "ok" : "failed")]).increment()
    }

    package func spool(depth: Int, oldestSpooledAt: Double?, setAside: Int) {
        spoolDepth.record(Double(depth))
        Gauge(label: "geneva_sensor_spool_set_aside").record(Double(setAside))
        shippingLag.record(oldestSpooledAt.map { max(0, Date().timeIntervalSince1970 - $0) } ?? 0)
    }

    package func shipped(_ count: Int) { shipped.increment(by: count) }
    package func setAside(_ count: Int) { Counter(label: "geneva_sensor_set_aside_total").increment(by: count) }
    package func shipFailed() { shipFailures.increment() }
}
