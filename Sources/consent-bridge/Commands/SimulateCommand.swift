import ArgumentParser
import ConsentConfiguration
import ConsentKafka
import ConsentSimulation
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `consent-bridge simulate epj|nav`: a realistic stream of one side's events.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Publish a realistic stream of EPJ or NAV events (built from the contracts' examples), with some broken on purpose.",
        discussion: """
            EPJ: consents (granted in full, narrowed, none; some withdrawn and granted again), referrals, anonymous case \
            discussions, treatment coordination, work-relevant health information. NAV: job status, candidate suggestions, \
            participation changes, NAV's own follow-up notes (never cross, R3). Persons are synthetic fødselsnumre (month \
            + 80, never a real person's). A progress line goes to standard error.
            """
    )

    @Argument(help: "Which system to simulate: epj or nav.")
    var system: TrafficSimulator.System

    @Option(help: "Kafka bootstrap servers (the `bootstrap:` line `consent-bridge run --embedded true` prints).")
    var bootstrap: String

    @Option(help: "Number of persons (1…500); both simulators with the same number talk about the same persons.")
    var patients: Int = 40

    @Option(help: "Events per second.")
    var rate: Double = 20

    @Option(help: "Stop after this many events (default: run until Ctrl-C).")
    var count: Int?

    @Option(help: "Share of messages broken on purpose (0…1).")
    var invalidShare: Double = 0.05

    @Option(help: "Contracts directory (the examples are read from it).")
    var contracts: String = "Contracts"

    func validate() throws {
        guard (1...500).contains(patients) else { throw ValidationError("--patients must be between 1 and 500") }
        guard rate > 0, rate <= 100_000 else {
            throw ValidationError("--rate must be above 0 and at most 100000 events/s")
        }
        guard (0...1).contains(invalidShare) else { throw ValidationError("--invalid-share must be between 0 and 1") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() async throws {
        LoggingBootstrap.bootstrap(level: .warning)
        let logger = Logger(label: "consent-bridge.simulate")
        let simulator = try TrafficSimulator(
            system: system, contractsDirectory: contracts, topics: .defaults,
            options: .init(patients: patients, rate: rate, count: count, invalidShare: invalidShare))
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: logger)
        let system = self.system
        let service = SimulatorService(simulator: simulator, producer: producer) { progress in
            if progress.sent % 10 == 0 {
                let initial = progress.initialConsents > 0 ? " after \(progress.initialConsents) initial consents" : ""
                ProgressLine.write("\(system.rawValue): sent \(progress.events) events\(initial)")
            }
        }
        // Reaching --count is the simulator's normal end: the group then shuts down gracefully
        // (and `run` exits 0) instead of reporting a service that finished unexpectedly.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        try await group.run()
        FileHandle.standardError.write(Data("\n\(system.rawValue): \(service.progress.summary)\n".utf8))
    }
}

extension TrafficSimulator.System: ExpressibleByArgument {}

/// One progress line on standard error, rewritten in place.
enum ProgressLine {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8))
    }
}
