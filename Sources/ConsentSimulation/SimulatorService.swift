package import ConsentKafka
import ServiceLifecycle
import Synchronization

/// A simulator as a service: sends until its count is reached or the group shuts down, then
/// closes its producer (before the services started ahead of it, such as an embedded broker).
package final class SimulatorService: Service, Sendable {
    private let simulator: TrafficSimulator
    private let producer: KafkaProducer
    private let report: @Sendable (TrafficSimulator.Progress) -> Void
    private let latest = Mutex(TrafficSimulator.Progress())

    /// Creates the service, which owns `producer`; `report` is called after every event.
    package init(
        simulator: TrafficSimulator, producer: KafkaProducer,
        report: @escaping @Sendable (TrafficSimulator.Progress) -> Void = { _ in }
    ) {
        self.simulator = simulator
        self.producer = producer
        self.report = report
    }

    /// What was sent so far.
    package var progress: TrafficSimulator.Progress { latest.withLock { $0 } }

    package func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                _ = try await self.simulator.run(producer: self.producer) { progress in
                    self.latest.withLock { $0 = progress }
                    self.report(progress)
                }
            }
        } catch is CancellationError {
            // Stopped by the group: what was sent is in `progress`.
        }
        await producer.close()
    }
}
