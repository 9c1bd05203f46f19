import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentPolicy
import ConsentResilience
import ConsentStorage
import Foundation
package import Logging
import ServiceLifecycle

/// `consent-bridge bench consent-view`: the consent view at a national scale.
///
/// 1. **Apply**: `consents` consent records (one per synthetic person, from the contract's own
///    example) read into a `ConsentViewKeeper` exactly as the consent consumer does (strict
///    parse, schema validation, version rule), and persisted in the bridge store through the
///    same rows the consent-view service writes.
/// 2. **Ready from the store** (`restore`, run in a fresh child process so its memory is the
///    view's alone): open the store and restore the view, as a bridge does at start; then
///    random lookups, as the pipelines make them.
/// 3. **Catch-up from the topic**: `catchUpRecords` records on the embedded broker's consent
///    topic read from the beginning by the consent-view service (consumer, keeper, store).
///    The broker keeps about 5 MiB per partition (docs/kafka.md), so this part runs at the
///    size the broker can hold and reports a rate.
///
/// Measures and prints; asserts nothing.
package struct ConsentViewBenchmark: Sendable {
    /// What the restoring child process measured.
    package struct Restore: Sendable, Codable {
        package var patients: Int
        /// Wall time from opening the store to a ready view.
        package var readySeconds: Double
        /// Resident memory of the child process once the view is ready (VmRSS).
        package var rssMegabytes: Double
        /// Resident memory of the child process before opening the store.
        package var baselineRSSMegabytes: Double
        /// Anonymous resident memory (heap; `RssAnon`) with the view ready: `rssMegabytes` also
        /// counts the store file's pages SQLite maps while reading, which the kernel can drop.
        package var anonymousRSSMegabytes: Double
        /// Anonymous resident memory before opening the store.
        package var baselineAnonymousRSSMegabytes: Double
        /// Random `state(for:)` lookups per second on one thread.
        package var lookupsPerSecond: Double
    }

    /// Everything the benchmark measured.
    package struct Result: Sendable {
        package var consents: Int
        /// Consent records applied to the view per second (parse, validate, version rule).
        package var applyPerSecond: Double
        /// Rows written to the SQLite bridge store per second (batches of `batchSize`).
        package var writePerSecond: Double
        package var restore: Restore
        package var catchUpRecords: Int
        package var catchUpSeconds: Double
        package var catchUpPerSecond: Double { Double(catchUpRecords) / max(catchUpSeconds, 1e-9) }
    }

    package var consents: Int
    package var catchUpRecords: Int
    package var batchSize = 10_000
    package var contractsDirectory: String
    package var logger: Logger

    package init(consents: Int, catchUpRecords: Int, contractsDirectory: String, logger: Logger) {
        self.consents = consents
        self.catchUpRecords = catchUpRecords
        self.contractsDirectory = contractsDirectory
        self.logger = logger
    }

    /// Runs parts 1 and 3 here and part 2 through `restoreInChild` (given the store's path).
    package func run(restoreInChild: (String) async throws -> Restore) async throws -> Result {
        let catalog = try ContractCatalog.load(directory: contractsDirectory)
        guard let schema = PolicyCatalog(catalog: catalog).consentSchema else {
            throw ConsentViewBenchmarkError.noConsentContract
        }
        let template = try Self.template(contractsDirectory: contractsDirectory)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "consent-view-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let storePath = folder.appendingPathComponent("bridge.sqlite").path

        // 1. Apply and persist, in batches (the generated records never all sit in memory).
        let store = try await BridgeStore.open(.sqlite(path: storePath), logger: logger)
        let keeper = ConsentViewKeeper(consentSchema: schema)
        var applySeconds = 0.0
        var writeSeconds = 0.0
        var people = SyntheticPeople()
        var written = 0
        while written < consents {
            let count = min(batchSize, consents - written)
            let records = (0..<count).map { index in
                let patient = people.next()
                return KafkaRecord(
                    topic: "health.consent", partition: Int32(index % 6), offset: Int64(written + index),
                    key: Array(patient.utf8), value: Self.consent(template, patient: patient, serial: written + index),
                    headers: BridgeBenchmarkWorkload.consentHeaders(), timestamp: nil)
            }
            let applyStart = ContinuousClock.now
            keeper.apply(records)
            let (entries, _) = keeper.takeUnsaved()
            applySeconds += (ContinuousClock.now - applyStart).seconds
            let rows = ConsentViewService.rows(entries)
            let writeStart = ContinuousClock.now
            try await store.saveConsentView(upserts: rows, removals: [], offsets: [])
            writeSeconds += (ContinuousClock.now - writeStart).seconds
            written += count
        }
        await store.close()

        // 2. Ready from the store, in a process of its own.
        let restore = try await restoreInChild(storePath)

        // 3. Catch-up from the topic, through the consent-view service.
        let (catchUp, seconds) = try await catchUp(template: template, schema: schema, folder: folder)
        return Result(
            consents: consents, applyPerSecond: Double(consents) / max(applySeconds, 1e-9),
            writePerSecond: Double(consents) / max(writeSeconds, 1e-9), restore: restore, catchUpRecords: catchUp,
            catchUpSeconds: seconds)
    }

    /// Part 2: opens the store at `path`, restores the view and looks people up (call it in a
    /// fresh process so the memory it reports is the view's).
    package static func restore(storePath: String, contractsDirectory: String, lookups: Int, logger: Logger)
        async throws
        -> Restore
    {
        let catalog = try ContractCatalog.load(directory: contractsDirectory)
        guard let schema = PolicyCatalog(catalog: catalog).consentSchema else {
            throw ConsentViewBenchmarkError.noConsentContract
        }
        let baseline = ProcessMemory.residentMegabytes()
        let baselineAnonymous = ProcessMemory.residentMegabytes(field: "RssAnon:")
        let start = ContinuousClock.now
        let store = try await BridgeStore.open(.sqlite(path: storePath), logger: logger)
        let keeper = ConsentViewKeeper(consentSchema: schema)
        try await ConsentViewService.restore(
            into: keeper, from: store, topic: "health.consent",
            retry: RetryPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(1)), logger: logger)
        let ready = (ContinuousClock.now - start).seconds
        // Measured with the store open, as a running bridge has it.
        let rss = ProcessMemory.residentMegabytes()
        let anonymous = ProcessMemory.residentMegabytes(field: "RssAnon:")
        await store.close()

        // Lookups of people in the view, in a random order (a fixed seed).
        var people = SyntheticPeople()
        let patients = keeper.patientCount
        let known = (0..<max(1, min(patients, 100_000))).map { _ in people.next() }
        var random = SeededRandom(seed: 7)
        var granted = 0
        let lookupStart = ContinuousClock.now
        for _ in 0..<lookups {
            if case .granted = keeper.state(for: known[Int(random.next() % UInt64(known.count))]) { granted += 1 }
        }
        let lookupSeconds = (ContinuousClock.now - lookupStart).seconds
        guard granted == lookups else { throw ConsentViewBenchmarkError.lookupMissed(granted: granted, of: lookups) }
        return Restore(
            patients: patients, readySeconds: ready, rssMegabytes: rss,
            baselineRSSMegabytes: baseline, anonymousRSSMegabytes: anonymous,
            baselineAnonymousRSSMegabytes: baselineAnonymous,
            lookupsPerSecond: Double(lookups) / max(lookupSeconds, 1e-9))
    }

    /// Part 3.
    private func catchUp(template: JSONObject, schema: JSONSchema, folder: URL) async throws -> (Int, Double) {
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = "health.consent"
        try cluster.createTopic(topic, partitions: 6)
        let client = KafkaClientConfiguration(bootstrapServers: cluster.bootstrapServers)
        let producer = try KafkaProducer(configuration: client, logger: logger)
        var people = SyntheticPeople()
        var sent = 0
        while sent < catchUpRecords {
            let count = min(5_000, catchUpRecords - sent)
            let batch = (0..<count).map { index in
                let patient = people.next()
                return KafkaOutgoingRecord(
                    topic: topic, key: Array(patient.utf8),
                    value: Self.consent(template, patient: patient, serial: sent + index),
                    headers: BridgeBenchmarkWorkload.consentHeaders())
            }
            for report in try await producer.send(batch) { _ = try report.get() }
            sent += count
        }
        await producer.close()
        let admin = try KafkaAdmin(configuration: client, logger: logger)
        let required = try await admin.highWatermarks(topic: topic, partitions: Array(0..<6))
        await admin.close()

        let store = try await BridgeStore.open(
            .sqlite(path: folder.appendingPathComponent("catch-up.sqlite").path), logger: logger)
        let keeper = ConsentViewKeeper(consentSchema: schema)
        var tuned = client
        tuned.properties = EmbeddedKafkaCluster.consumerTuning
        let start = ContinuousClock.now
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                client: tuned, groupID: "consent-view-bench-\(UUID().uuidString.prefix(8))", topics: [topic],
                maxBatchSize: 2_000, startingOffsets: { _, _ in [:] }),
            logger: logger)
        let service = ConsentViewService(
            keeper: keeper, consumer: consumer, store: store, consentTopic: topic,
            retry: RetryPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(1)), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let running = Task { try await group.run() }
        await keeper.waitUntilRead(upTo: required)
        let seconds = (ContinuousClock.now - start).seconds
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        await store.close()
        return (catchUpRecords, seconds)
    }

    /// The consent contract's first valid example, as an object to stamp people into.
    static func template(contractsDirectory: String) throws -> JSONObject {
        let folder = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("examples/consent/valid")
        let name = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
            .sorted()
        guard let first = name.first,
            let data = FileManager.default.contents(atPath: folder.appendingPathComponent(first).path),
            case .object(let object) = try StrictJSON.parse(Array(data))
        else { throw ConsentViewBenchmarkError.noConsentExample }
        return object
    }

    /// The template for `patient`, with a consent id of its own.
    static func consent(_ template: JSONObject, patient: String, serial: Int) -> [UInt8] {
        let consentID = String(format: "00000000-0000-4000-8000-%012d", serial)
        let members = template.members.map { member -> JSONObject.Member in
            switch member.key {
            case "patientId": .init(key: "patientId", value: .string(patient))
            case "consentId": .init(key: "consentId", value: .string(consentID))
            default: member
            }
        }
        return JSONValue.object(JSONObject(uniqueMembers: members)).serializedBytes()
    }
}

/// Distinct valid synthetic fødselsnumre (month + 80, never a real person's), in a fixed
/// order: enough for a national population (about 600 per birth date).
struct SyntheticPeople {
    private var year = 0
    private var month = 1
    private var day = 1
    private var individual = 0
    private(set) var count = 0

    mutating func next() -> String {
        while true {
            let digits = [
                day / 10, day % 10, (month + 80) / 10, (month + 80) % 10, year / 10, year % 10,
                individual / 100, individual / 10 % 10, individual % 10,
            ]
            advance()
            guard let number = NorwegianIdentifier.withCheckDigits(digits) else { continue }
            count += 1
            return number
        }
    }

    private mutating func advance() {
        individual += 1
        guard individual == 1000 else { return }
        individual = 0
        day += 1
        guard day == 29 else { return }
        day = 1
        month += 1
        guard month == 13 else { return }
        month = 1
        year = (year + 1) % 100
    }
}

/// Resident memory of this process (Linux `/proc/self/status`: `VmRSS`, or another field).
enum ProcessMemory {
    static func residentMegabytes(field: String = "VmRSS:") -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }
}

/// Why the consent-view benchmark could not run.
package enum ConsentViewBenchmarkError: Error, CustomStringConvertible {
    case noConsentContract
    case noConsentExample
    case lookupMissed(granted: Int, of: Int)

    package var description: String {
        switch self {
        case .noConsentContract: "the contracts directory has no consent contract"
        case .noConsentExample: "the contracts directory has no valid consent example"
        case .lookupMissed(let granted, let total): "only \(granted) of \(total) lookups found a granted consent"
        }
    }
}
