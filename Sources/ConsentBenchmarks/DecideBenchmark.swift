import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentStorage
import Foundation
package import Logging

/// `consent-bridge bench decide`: the pipeline's decide stage alone, on one thread: the
/// bridge benchmark's referrals decided against their consents and built into their rows
/// (`EventDecider`), then encoded for the store (`BridgeStore.prepare`), batch by batch.
///
/// In `bench bridge` this stage is the one every batch waits on, and its time there moves with
/// whatever else the two cores run. Here it is measured alone, as the CPU of the one thread, so
/// that a change to deciding, building or encoding shows in a figure that varies by a few
/// percent between runs rather than by a fifth.
package enum DecideBenchmark {
    /// The measured figures.
    package struct Result: Sendable {
        /// Timed events.
        package var events: Int
        /// Events per second of the thread's CPU (decide, build and encode).
        package var perCPUSecond: Double
        /// CPU per event: deciding and building.
        package var decideMicroseconds: Double
        /// CPU per event: encoding the rows (`BridgeStore.prepare`).
        package var prepareMicroseconds: Double
        /// Outcome → count over the timed events.
        package var outcomes: [String: Int]

        /// Human-readable lines.
        package var report: String {
            var lines = [
                "decide stage: \(events) referrals on one thread, batches of the pipeline's size",
                "CPU per event: decide and build \(format(decideMicroseconds, 2)) µs, encode rows \(format(prepareMicroseconds, 2)) µs, total \(format(decideMicroseconds + prepareMicroseconds, 2)) µs (\(Int(perCPUSecond.rounded())) events per CPU-second)",
                "outcomes:",
            ]
            for (outcome, count) in outcomes.sorted(by: { $0.value > $1.value }) {
                lines.append("  \(outcome): \(count)")
            }
            return lines.joined(separator: "\n")
        }

        /// The machine-readable last line.
        package var jsonLine: String {
            "{\"decide_us_per_event\":\(format(decideMicroseconds, 2)),\"prepare_us_per_event\":\(format(prepareMicroseconds, 2)),\"events_per_cpu_s\":\(Int(perCPUSecond.rounded()))}"
        }
    }

    /// Runs `events` referrals (after one untimed pass over `warmup`) in batches of `batchSize`.
    package static func run(
        contractsDirectory: String, events: Int, warmup: Int = 5_000, batchSize: Int = 500, logger: Logger
    ) async throws -> Result {
        let catalog = try PolicyCatalog.load(directory: contractsDirectory)
        guard let consentSchema = catalog.consentSchema,
            let agreementsSchema = IPSAgreementRegistry.schema(contractsDirectory: contractsDirectory)
        else { throw PolicyBenchmarkError("the consent or agreements schema is missing") }
        let workload = try BridgeBenchmarkWorkload(contractsDirectory: contractsDirectory)
        // Every patient's consent, as the consent view reads it from health.consent.
        let keeper = ConsentViewKeeper(consentSchema: consentSchema)
        keeper.apply(
            try workload.patients.enumerated().map { index, patient in
                KafkaRecord(
                    topic: "health.consent", partition: 0, offset: Int64(index), key: Array(patient.utf8),
                    value: try workload.consent(
                        for: patient, consentID: UUID.random().lowercaseString, version: 1, status: "granted"),
                    headers: BridgeBenchmarkWorkload.consentHeaders(), timestamp: nil)
            })
        let agreements = IPSAgreementRegistry(
            path: contractsDirectory + "/registry/ips-agreements.development.json", schema: agreementsSchema,
            logger: logger)
        guard agreements.current != nil else {
            throw PolicyBenchmarkError("the development IPS agreements are missing")
        }
        let builder = BridgeRecordBuilder(
            topics: .init(TopicNames.defaults), catalog: catalog,
            sealer: PayloadSealer(
                health: SealingKeyRing(current: .random(id: "bench-health")),
                nav: SealingKeyRing(current: .random(id: "bench-nav"))),
            bridgeVersion: "bench")
        let decider = EventDecider(
            origin: .health, consent: keeper, catalog: catalog, builder: builder, agreements: agreements,
            metrics: BridgeMetrics(), logger: logger)
        // Encoding needs a store to encode for; nothing is written to it.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("consent-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try await BridgeStore.open(
            .sqlite(path: folder.appendingPathComponent("bridge.sqlite").path), logger: logger)
        do {
            let result = try measure(
                decider: decider, store: store, workload: workload, events: events, warmup: warmup,
                batchSize: batchSize)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// The timed part of `run`, on the calling thread.
    private static func measure(
        decider: EventDecider, store: BridgeStore, workload: BridgeBenchmarkWorkload, events: Int, warmup: Int,
        batchSize: Int
    ) throws -> Result {
        func records(_ range: Range<Int>) -> [KafkaRecord] {
            range.map { index in
                let event = workload.event("health.ips.outbound", index)
                return KafkaRecord(
                    topic: event.topic, partition: Int32(index % 6), offset: Int64(index), key: event.key,
                    value: event.value, headers: event.headers, timestamp: nil)
            }
        }
        for start in stride(from: 0, to: warmup, by: batchSize) {
            let decided = try decider.decide(
                records(start..<min(start + batchSize, warmup)), consumerGroup: "bench", now: Date())
            _ = try store.prepare(decided.batch, alternative: decided.alternative)
        }
        // Batches are made before the clock starts: the consumer's work is not this stage's.
        let batches = stride(from: 0, to: events, by: batchSize).map { records($0..<min($0 + batchSize, events)) }
        var decideNanoseconds: Int64 = 0
        var prepareNanoseconds: Int64 = 0
        var outcomes: [String: Int] = [:]
        for batch in batches {
            let started = ThreadCPU.callingThreadNanoseconds()
            let decided = try decider.decide(batch, consumerGroup: "bench", now: Date())
            let decidedAt = ThreadCPU.callingThreadNanoseconds()
            let prepared = try store.prepare(decided.batch, alternative: decided.alternative)
            prepareNanoseconds += ThreadCPU.callingThreadNanoseconds() - decidedAt
            decideNanoseconds += decidedAt - started
            for message in decided.batch.messages {
                outcomes[message.decision.reasonCode ?? message.decision.outcome.rawValue, default: 0] += 1
            }
            guard prepared.count == batch.count else { throw PolicyBenchmarkError("a batch lost events") }
        }
        let count = Double(max(events, 1))
        return Result(
            events: events, perCPUSecond: count * 1e9 / Double(max(decideNanoseconds + prepareNanoseconds, 1)),
            decideMicroseconds: Double(decideNanoseconds) / count / 1000,
            prepareMicroseconds: Double(prepareNanoseconds) / count / 1000, outcomes: outcomes)
    }
}
