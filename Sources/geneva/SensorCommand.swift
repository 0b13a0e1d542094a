import API
import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Sensor
import ServiceLifecycle
import SystemPackage
import WireParsing

/// `geneva sensor`: the capture daemon (docs/operations.md).
struct SensorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensor",
        abstract: "Run the sensor daemon: live capture, watched capture directories, followed mail logs; ship sightings to `geneva serve`.",
        discussion: """
            Settings come from the YAML file of --config, overridden by the environment (UPSTREAM_URL, \
            UPSTREAM_TOKEN, CAPTURE_FILTER, …: the key in capitals, dots as underscores). SIGHUP reloads the intel \
            files (they are also reloaded when they change); SIGTERM or SIGINT stops the sources, spools what they \
            hold, makes a last delivery attempt and exits 0.
            """)

    @Option(help: ArgumentHelp("YAML settings file (docs/operations.md has a commented example).", valueName: "path"))
    var config: String

    @Flag(help: "Read the settings, load the intel, open the interfaces, then exit without capturing.")
    var check = false

    func run() async throws {
        let settings: SensorSettings
        do {
            let file = try await FileProvider<YAMLSnapshot>(filePath: FilePath(config))
            settings = try SensorSettings(reading: ConfigReader(providers: [EnvironmentVariablesProvider(), file]))
        } catch let error as SensorError {
            throw fail("\(config): \(error.description)")
        } catch {
            throw fail("\(config): cannot read settings: \(error)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "geneva.sensor")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let sensor: Sensor
        var services: [any Service]
        do {
            sensor = try Sensor(settings: settings, logger: logger)
            var extra: [any Service] = []
            if let listen = settings.metricsListen {
                extra.append(try Self.metricsServer(listen, sensor: sensor, registry: registry))
            }
            services = try sensor.services(extra: extra)
        } catch let error as SensorError {
            throw fail(error.description)
        }
        if check {
            print("geneva sensor: settings, intel (\(sensor.intel.current.indicators.count) indicators) and sources are in order")
            return
        }
        // SIGHUP: reload the intel (the signal is handled, not fatal).
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { sensor.requestReload() }
        hangup.resume()
        defer { hangup.cancel() }
        var sources: [String] = settings.interfaces.map { "interface \($0)" }
        sources += settings.watchDirectories.map { "directory \($0)" }
        sources += settings.logFiles.map { "log \($0)" }
        let destination = settings.upstreamURL ?? settings.store.map { _ in "the store" } ?? "the spool only"
        FileHandle.standardOutput.write(Data("geneva sensor: \(settings.customer)/\(settings.sensor): \(sources.joined(separator: ", ")) -> \(destination)\n".utf8))
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        FileHandle.standardOutput.write(Data("geneva sensor: stopped\n".utf8))
    }

    /// `/metrics` (Prometheus) and `/healthz` of the sensor.
    static func metricsServer(_ listen: String, sensor: Sensor, registry: PrometheusCollectorRegistry) throws -> any Service {
        guard let (host, port) = hostAndPort(listen) else {
            throw SensorError("metrics.listen \(listen.prefix(60).debugDescription): not host:port")
        }
        let router = Router()
        router.get("/metrics") { _, _ in GenevaAPI.metrics(registry.emitToString()) }
        router.get("/healthz") { _, _ in
            let depth = try? sensor.spool.depth()
            let intel = sensor.intel.current
            return GenevaAPI.json(.object([
                ("status", .string("ok")), ("intel_generation", .int(intel.generation)), ("indicators", .int(intel.indicators.count)),
                ("spool_depth", .int(depth?.count ?? -1)), ("set_aside", .int(depth?.setAside ?? -1)),
            ]))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "geneva-sensor"),
            onServerRunning: { channel in
                let bound = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? listen
                FileHandle.standardOutput.write(Data("geneva sensor: metrics on \(bound)\n".utf8))
            })
    }
}
