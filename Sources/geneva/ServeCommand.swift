import API
import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import Metrics
import Prometheus
import Storage
import SystemPackage

/// `geneva serve`: the HTTP API (docs/api.yaml) over the store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API: sensors ship sightings, analysts read the report, campaigns and sightings.",
        discussion: """
            Settings come from the options, then the environment (TOKENS_SENSORS, TOKENS_ANALYSTS, LISTEN, \
            DATABASE_URL, DB, LIMITS_MAX_BODY_BYTES), then the YAML file of --config (docs/operations.md). \
            Tokens are given as `geneva hash-token` digests, never in clear.
            """)

    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("YAML settings file.", valueName: "path")) var config: String?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (default 16 MiB).") var maxBodyBytes: Int?

    @OptionGroup var store: StoreOptions

    func validate() throws {
        if let maxBodyBytes, maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be at least 1") }
    }

    func run() async throws {
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider()]
        if let config {
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(config)))
            } catch {
                throw fail("\(config): cannot read settings: \(error)")
            }
        }
        let settings = ConfigReader(providers: providers)
        let tokens: TokenBook
        do {
            tokens = try TokenBook([
                .sensor: settings.stringArray(forKey: "tokens.sensors", isSecret: true) ?? [],
                .analyst: settings.stringArray(forKey: "tokens.analysts", isSecret: true) ?? [],
            ])
        } catch {
            throw fail(error.description)
        }
        if tokens.isEmpty { warn("no tokens configured: every /v1 request will be refused (401)") }
        let address = listen ?? settings.string(forKey: "listen") ?? "127.0.0.1:8080"
        guard let (host, port) = hostAndPort(address) else { throw fail("--listen \(address.prefix(60).debugDescription): not host:port") }
        let location = store.explicitLocation ?? settings.string(forKey: "database_url", isSecret: true) ?? settings.string(forKey: "db")
            ?? "./geneva.sqlite"
        let opened: any GenevaStore
        do { opened = try openStore(location) } catch { throw fail(error.description) }
        let limit = maxBodyBytes ?? settings.int(forKey: "limits.max_body_bytes") ?? GenevaAPI.Settings.defaultMaxBodyBytes
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let router = GenevaAPI.router(
            store: opened, settings: .init(tokens: tokens, maxBodyBytes: limit, metricsText: { registry.emitToString() }))
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "geneva"),
            onServerRunning: { channel in
                // The bound address (port 0 → the one chosen), for scripts and tests.
                let bound = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? address
                FileHandle.standardOutput.write(Data("geneva serve: listening on \(bound) (store \(opened.location))\n".utf8))
            })
        try await app.runService()
    }
}

/// `HOST:PORT` (an IPv6 host in brackets) of a listen setting; port 0 picks a free one.
func hostAndPort(_ address: String) -> (host: String, port: Int)? {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
        return nil
    }
    return (String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
}

/// `geneva hash-token`: the digest of a token (read from stdin) as the
/// serve settings take it.
struct HashTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-token", abstract: "Print the sha256: digest of a token read from standard input, for the serve settings.")

    func run() throws {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw fail("no token on standard input") }
        print(TokenBook.hash(line))
    }
}
