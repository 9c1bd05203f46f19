import ArgumentParser
import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import ConsentOperator
import ConsentSimulation
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `consent-bridge demo`: the whole product on embedded defaults with simulated traffic.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run everything on embedded defaults with simulated EPJ and NAV traffic, and show it on the operator page.",
        discussion: """
            Starts the embedded broker, SQLite stores (in a new temporary directory unless --data-directory is given), the \
            bridge, both sinks, the operator service and both simulators; prints the operator page's URL with a demo token \
            and a summary every few seconds (forwarded, anonymized, rejected by reason, withheld). Ctrl-C, or --duration, \
            stops it and prints the final summary; with --json that last line is JSON (and the live lines go to standard error).
            """
    )

    @Option(help: "Stop by itself after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Flag(help: "Print the final summary as one JSON line on standard output (live lines go to standard error).")
    var json = false

    @Option(help: "Number of simulated persons (1…500).")
    var patients: Int = 40

    @Option(help: "Events per second from each simulator.")
    var rate: Double = 10

    @Option(help: "Address of the operator service (port 0: any free port).")
    var httpListenAddress: String = "127.0.0.1:8080"

    @Option(help: "Directory for the SQLite stores (default: a new temporary directory, removed at the end).")
    var dataDirectory: String?

    @Option(help: "Contracts directory.")
    var contracts: String = "Contracts"

    func validate() throws {
        if let duration, !(1...86_400).contains(duration) {
            throw ValidationError("--duration must be between 1 and 86400 seconds")
        }
        guard (1...500).contains(patients) else { throw ValidationError("--patients must be between 1 and 500") }
        guard rate > 0, rate <= 10_000 else {
            throw ValidationError("--rate must be above 0 and at most 10000 events/s")
        }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(level: .error)
        let logger = Logger(label: "consent-bridge.demo")
        let directory =
            dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "consent-bridge-demo-\(UUID().uuidString.prefix(8))"
            ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A directory of its own is removed however the demo ends (a start that fails too).
        defer { if dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let operatorToken = "demo-operator-" + Self.randomHex(16)
        let viewerToken = "demo-viewer-" + Self.randomHex(16)
        let configuration: BridgeConfiguration
        do {
            configuration = try BridgeConfiguration.load(
                arguments: ["--http-listen-address", httpListenAddress],
                environment: [
                    "CONSENT_BRIDGE_EMBEDDED": "true", "CONSENT_BRIDGE_DATA_DIRECTORY": directory,
                    "CONSENT_BRIDGE_CONTRACTS_DIRECTORY": contracts,
                    // The simulators' persons are synthetic fødselsnumre.
                    "CONSENT_BRIDGE_OPERATOR_OPERATOR_TOKENS": operatorToken,
                    "CONSENT_BRIDGE_OPERATOR_VIEWER_TOKENS": viewerToken,
                    "CONSENT_BRIDGE_LOG_LEVEL": "error",
                    // The simulators are this deployment's own systems: their sources are shown.
                    "CONSENT_BRIDGE_OPERATOR_KNOWN_SOURCES": TrafficSimulator.System.allCases.map(\.source)
                        .joined(separator: ","),
                ], fileContents: nil)
        } catch {
            throw ValidationError(error.description)
        }
        let live = ReadableOutput(json: json)
        let cluster = try RunCommand.embeddedCluster(configuration, logger: logger)
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let application = try await BridgeApplication.make(
            configuration: configuration, kafka: .init(health: client, nav: client),
            consumerTuning: EmbeddedKafkaCluster.consumerTuning,
            logger: logger)
        let host = configuration.httpListenAddress.host
        let operatorService = RunCommand.operatorService(configuration, application, logger: logger) { port in
            live.line("operator page: http://\(host):\(port)/operator#token=\(operatorToken)")
            live.line("  (viewer token: \(viewerToken); demo tokens, valid for this run only)")
            live.line("kafka bootstrap: \(cluster.bootstrapServers)   data: \(directory)")
        }
        let simulators = try TrafficSimulator.System.allCases.map { system in
            SimulatorService(
                simulator: try TrafficSimulator(
                    system: system, contractsDirectory: contracts, topics: configuration.topics,
                    options: .init(patients: patients, rate: rate, invalidShare: 0.08)),
                producer: try KafkaProducer(
                    configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger))
        }
        let started = ContinuousClock.now
        let summary = DemoSummary(metrics: application.metrics, simulators: simulators, started: started)
        let services: [any Service] =
            [EmbeddedKafkaService(cluster: cluster), ClosingService(application.shutdown)] + application.services + [
                operatorService
            ]
            + simulators + [PeriodicService(every: .seconds(3)) { live.line(summary.line()) }]
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        groupConfiguration.maximumCancellationDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        let timer = duration.map { seconds in
            Task {
                try await Task.sleep(for: .seconds(seconds))
                await group.triggerGracefulShutdown()
            }
        }
        defer { timer?.cancel() }
        try await group.run()
        if json {
            print(summary.json())
        } else {
            print("final: " + summary.line())
        }
    }

    private static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// The demo's running totals, from the bridge's own counters and the simulators'.
struct DemoSummary: Sendable {
    let metrics: BridgeMetrics
    let simulators: [SimulatorService]
    let started: ContinuousClock.Instant

    private var figures: (forwarded: Int, anonymized: Int, rejected: [String: Int], withheld: Int, sent: Int) {
        var decisions = metrics.decisionCounts
        let forwarded = decisions.removeValue(forKey: "accepted") ?? 0
        let anonymized = decisions.removeValue(forKey: "anonymized") ?? 0
        return (forwarded, anonymized, decisions, metrics.withheldCount, simulators.reduce(0) { $0 + $1.progress.sent })
    }

    func line() -> String {
        let figures = self.figures
        let rejected = figures.rejected.values.reduce(0, +)
        let reasons = figures.rejected.sorted { $0.value > $1.value }.prefix(6).map { "\($0.key) \($0.value)" }.joined(
            separator: ", ")
        let seconds = Int((ContinuousClock.now - started).components.seconds)
        return
            "\(seconds) s: sent \(figures.sent) · forwarded \(figures.forwarded) · anonymized \(figures.anonymized) · "
            + "rejected \(rejected)\(reasons.isEmpty ? "" : " (\(reasons))") · withheld \(figures.withheld)"
    }

    func json() -> String {
        let figures = self.figures
        let object: [String: Any] = [
            "sent": figures.sent, "forwarded": figures.forwarded, "anonymized": figures.anonymized,
            "rejected": figures.rejected.values.reduce(0, +), "rejectedByReason": figures.rejected,
            "withheld": figures.withheld,
            "seconds": Int((ContinuousClock.now - started).components.seconds),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs `action` every `interval` until the group shuts down.
struct PeriodicService: Service {
    let interval: Duration
    let action: @Sendable () -> Void

    init(every interval: Duration, _ action: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.action = action
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                action()
            }
        }
    }
}
