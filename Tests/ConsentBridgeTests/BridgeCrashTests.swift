import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentSimulation
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A child process of the built `consent-bridge` binary (spawned without Foundation's
/// `Process`, which crashes now and then on Linux: see `SpawnedProcess`).
final class ChildProcess: Sendable {
    let process: SpawnedProcess

    static var binary: String? {
        if let path = ProcessInfo.processInfo.environment["CONSENT_BRIDGE_BIN"],
            FileManager.default.isExecutableFile(atPath: path)
        {
            return path
        }
        let debug = RepositoryPaths.root.appendingPathComponent(".build/debug/consent-bridge").path
        return FileManager.default.isExecutableFile(atPath: debug) ? debug : nil
    }

    init(arguments: [String], environment: [String: String] = [:], errorLog: String? = nil) throws {
        let binary = try #require(Self.binary, "build the executable first (swift build); scripts/test does")
        process = try SpawnedProcess(
            executable: binary, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            errorLog: errorLog)
    }

    /// The first stdout line starting with `prefix`.
    func readLine(startingWith prefix: String) -> String? {
        var buffer = Data()
        while true {
            let chunk = process.output.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
                return String(line)
            }
        }
    }

    func kill9() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.send(SIGTERM) { process.waitUntilExit() }
    }
}

@Suite("Bridge crash safety (SIGKILL)", .serialized, .timeLimit(.minutes(8)))
struct BridgeCrashTests {
    @Test("10,000 events, the bridge killed with SIGKILL at 5 random moments: nothing lost, nothing forwarded twice")
    func survivesKillNine() async throws {
        let broker = try ChildProcess(arguments: ["broker", "--contracts", BridgeHarness.contractsDirectory])
        defer { broker.terminate() }
        let bootstrap = String(
            try #require(broker.readLine(startingWith: "bootstrap: ")).dropFirst("bootstrap: ".count))
        let directory = try Self.temporaryDirectory("bridge-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = try Self.environment(
            bootstrap: bootstrap, directory: directory, store: directory + "/bridge.sqlite", logLevel: "warning")
        let total = 10_000
        let ids = try await Self.publishWorkload(bootstrap: bootstrap, events: total)

        // Kill the bridge at 5 random moments, restarting it each time.
        for _ in 0..<5 {
            let bridge = try ChildProcess(
                arguments: ["run"], environment: environment, errorLog: directory + "/bridge.log")
            try await Task.sleep(for: .milliseconds(Int.random(in: 1500...6000)))
            bridge.kill9()
        }
        let bridge = try ChildProcess(arguments: ["run"], environment: environment, errorLog: directory + "/bridge.log")
        defer { bridge.terminate() }
        let store = try await BridgeStore.open(.sqlite(path: directory + "/bridge.sqlite"), logger: Self.logger)
        try await Self.expectEveryEventOnce(
            total: total, ids: ids, bootstrap: bootstrap, store: store, survivor: bridge,
            log: directory + "/bridge.log")
    }

    @Test(
        "Issue 18: two instances in one consumer group on PostgreSQL, one killed with SIGKILL mid-stream: its partitions move to the other; nothing lost, nothing forwarded twice",
        .enabled(if: TestDatabaseEngine.postgresURL != nil, Comment(rawValue: TestDatabaseEngine.skipMessage)))
    func twoInstancesOneKilled() async throws {
        let broker = try ChildProcess(arguments: ["broker", "--contracts", BridgeHarness.contractsDirectory])
        defer { broker.terminate() }
        let bootstrap = String(
            try #require(broker.readLine(startingWith: "bootstrap: ")).dropFirst("bootstrap: ".count))
        let directory = try Self.temporaryDirectory("bridge-two-instances")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = try #require(TestDatabaseEngine.postgresURL)
        let url = try await PostgresScratchDatabase.create(baseURL: base, prefix: "two_instances", logger: Self.logger)
        // Info: each instance logs one line per decision, so the test can tell both worked.
        let environment = try Self.environment(bootstrap: bootstrap, directory: directory, store: url, logLevel: "info")
        let (first, second) = (directory + "/first.log", directory + "/second.log")
        let firstPort = try LoopbackPort.unused()
        let ports = (firstPort, try LoopbackPort.unused(excluding: [firstPort]))
        var firstEnvironment = environment
        firstEnvironment["CONSENT_BRIDGE_HTTP_LISTEN_ADDRESS"] = "127.0.0.1:\(ports.0)"
        let killed = try ChildProcess(arguments: ["run"], environment: firstEnvironment, errorLog: first)
        var secondEnvironment = environment
        secondEnvironment["CONSENT_BRIDGE_HTTP_LISTEN_ADDRESS"] = "127.0.0.1:\(ports.1)"
        let survivor = try ChildProcess(arguments: ["run"], environment: secondEnvironment, errorLog: second)
        defer { survivor.terminate() }
        // Both ready (each pipeline in its consumer group, the partitions shared) before the load.
        for port in [ports.0, ports.1] {
            try await Self.waitUntilReady(port: port, log: port == ports.0 ? first : second)
        }
        let total = 6_000
        let ids = try await Self.publishWorkload(bootstrap: bootstrap, events: total)
        // Killed mid-stream: once it has decided events, at a random moment after.
        let deadline = ContinuousClock.now + .seconds(60)
        while Self.decisionLines(first) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...500)))
        killed.kill9()
        let decidedBeforeTheKill = Self.decisionLines(first)

        let store = try await BridgeStore.open(
            try StoreLocation.parse(url).get(), logger: Self.logger)
        try await Self.expectEveryEventOnce(
            total: total, ids: ids, bootstrap: bootstrap, store: store, survivor: survivor, log: second)
        // Both instances decided events: the partitions were shared, then moved to the survivor.
        #expect(
            decidedBeforeTheKill > 0,
            "the killed instance decided nothing before it was killed: \(Self.tail(first))")
        #expect(Self.decisionLines(second) > 0)
        #expect(decidedBeforeTheKill < total, "the killed instance had decided everything: nothing moved")
        // One relay published at a time: either the survivor waited for the lease and took it
        // over after the kill, or it held it from the start and the other one waited.
        let (firstLog, secondLog) = (Self.text(first), Self.text(second))
        #expect(
            (secondLog.contains("waits to take over") && secondLog.contains("now publishes the outbox"))
                || (firstLog.contains("waits to take over") && !secondLog.contains("waits to take over")),
            "no relay waited for the lease: two relays published at once")
        print("two instances: the killed one decided \(decidedBeforeTheKill) of \(total) before SIGKILL")
        await PostgresScratchDatabase.drop(url: url, baseURL: base, logger: Self.logger)
    }

    static let logger = Logger(label: "crash-test") { _ in SwiftLogNoOpLogHandler() }

    static func temporaryDirectory(_ prefix: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A bridge-only process against the broker at `bootstrap`, with the bridge store `store`.
    static func environment(bootstrap: String, directory: String, store: String, logLevel: String) throws -> [String:
        String]
    {
        // Each side has its own sealing key (the configuration refuses one key for both).
        let healthKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let navKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        return [
            "CONSENT_BRIDGE_ROLES": "bridge",
            "CONSENT_BRIDGE_EMBEDDED": "false",
            "CONSENT_BRIDGE_HEALTH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CONSENT_BRIDGE_NAV_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CONSENT_BRIDGE_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "CONSENT_BRIDGE_KAFKA_FETCH_WAIT_MAX_MS": "10",
            "CONSENT_BRIDGE_CONTRACTS_DIRECTORY": BridgeHarness.contractsDirectory,
            "CONSENT_BRIDGE_AGREEMENTS_REGISTRY": BridgeHarness.contractsDirectory
                + "/registry/ips-agreements.development.json",
            "CONSENT_BRIDGE_DATA_DIRECTORY": directory,
            "CONSENT_BRIDGE_BRIDGE_STORE": store,
            "CONSENT_BRIDGE_HEALTH_SEALING_KEY": healthKey,
            "CONSENT_BRIDGE_HEALTH_SEALING_KEY_ID": "health-test",
            "CONSENT_BRIDGE_NAV_SEALING_KEY": navKey,
            "CONSENT_BRIDGE_NAV_SEALING_KEY_ID": "nav-test",
            "CONSENT_BRIDGE_HTTP_LISTEN_ADDRESS": "127.0.0.1:\(try LoopbackPort.unused())",
            "CONSENT_BRIDGE_LOG_LEVEL": logLevel,
        ]
    }

    /// 50 patients, 40 with consent (naming both NAV roles); `events` referrals spread over
    /// them. Returns the events' ids.
    static func publishWorkload(bootstrap: String, events total: Int) async throws -> [String] {
        let producer = try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: bootstrap), logger: logger)
        let patients = (0..<50).map { Self.syntheticFodselsnummer(index: $0) }
        for patient in patients.prefix(40) {
            _ = try await producer.send(
                .cloudEvent(
                    topic: "health.consent", key: patient, body: try Fixtures.consent(patient: patient),
                    type: ContractVocabulary.consentType, source: "urn:no:epj:test"))
        }
        var ids: [String] = []
        var records: [KafkaOutgoingRecord] = []
        for index in 0..<total {
            let patient = patients[index % patients.count]
            let id = UUID().uuidString.lowercased()
            ids.append(id)
            records.append(
                KafkaOutgoingRecord(
                    topic: "health.ips.outbound", key: Array(patient.utf8),
                    value: try Fixtures.referral(patient: patient),
                    headers: [
                        KafkaHeader(name: "ce_id", string: id),
                        KafkaHeader(name: "ce_type", string: "no.ips.health.referral.v1"),
                        KafkaHeader(name: "ce_source", string: "urn:test"),
                        KafkaHeader(name: "ce_specversion", string: "1.0"),
                        KafkaHeader(name: "ce_time", string: "2026-06-01T10:00:00Z"),
                        KafkaHeader(name: "content-type", string: "application/json"),
                    ]))
        }
        for result in try await producer.send(records) { _ = try result.get() }
        await producer.close()
        return ids
    }

    /// Waits until every event is decided and the outbox drained (by `survivor`, whose log is
    /// shown if it dies), then reads what reached the topics: every event decided once, every
    /// forward delivered once, every copy accounted for by a receipt.
    static func expectEveryEventOnce(
        total: Int, ids: [String], bootstrap: String, store: BridgeStore, survivor bridge: ChildProcess, log: String
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        var decided = 0
        while ContinuousClock.now < deadline {
            if !bridge.process.isRunning {
                let termination = bridge.process.waitUntilExit()
                // The bridge's log holds no personal data (a test proves it), so show its end.
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                Issue.record("the surviving bridge ended (\(termination)): \(text.suffix(3000))")
                await store.close()
                return
            }
            decided = try await Self.count(store, "SELECT COUNT(*) AS n FROM decisions")
            let pending = try await Self.count(
                store, "SELECT COUNT(*) AS n FROM outbox_status WHERE status = 'pending'")
            if decided >= total && pending == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let disclosureRows = try await Self.count(store, "SELECT COUNT(*) AS n FROM disclosures")
        let forwardDecisions = try await Self.count(
            store, "SELECT COUNT(*) AS n FROM decisions WHERE outcome = 'forward'")
        await store.close()
        bridge.terminate()

        let forwardedIDs = try await BridgeHarness.read(
            "nav.followup.inbound", bootstrap: bootstrap, atLeast: forwardDecisions, timeout: .seconds(60)
        )
        .compactMap { $0.headers.string(named: "ce_id") }
        // Copies carry bridge-minted ids; the receipts say which event each copy came from.
        var sourceOf: [String: String] = [:]
        for receipt in try await BridgeHarness.read(
            "health.ips.receipts", bootstrap: bootstrap, atLeast: total, timeout: .seconds(60))
        {
            guard let body = try JSONSerialization.jsonObject(with: Data(receipt.value ?? [])) as? [String: Any],
                let message = body["messageId"] as? String, let copy = body["forwardedId"] as? String
            else { continue }
            sourceOf[copy] = message
        }

        let lost = total - decided
        let duplicates = forwardedIDs.count - Set(forwardedIDs).count
        print(
            "crash test: events \(total), decided \(decided), lost \(lost), forwarded \(Set(forwardedIDs).count), forwarded more than once \(duplicates), disclosure rows \(disclosureRows)"
        )
        #expect(lost == 0)
        #expect(duplicates == 0)
        #expect(Set(forwardedIDs).count == forwardDecisions)
        // The consents name both NAV roles: each forward is one copy per role's system (R9), each
        // copy its own disclosure row; the follow-up solution's copies are the ones read here.
        #expect(disclosureRows == forwardDecisions * 2)
        #expect(Set(forwardedIDs.compactMap { sourceOf[$0] }).isSubset(of: Set(ids)))
        #expect(forwardedIDs.allSatisfy { sourceOf[$0] != nil }, "a copy no receipt accounts for")
        #expect(forwardDecisions == total / 50 * 40)
    }

    /// Waits until the bridge listening on `port` says it is ready (its pipelines are in their
    /// consumer groups).
    static func waitUntilReady(port: Int, log: String) async throws {
        let deadline = ContinuousClock.now + .seconds(90)
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/health/ready"))
        while ContinuousClock.now < deadline {
            if let (_, response) = try? await URLSession.shared.data(from: url),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the bridge on port \(port) never became ready: \(tail(log))")
    }

    /// A bridge's log (it holds no personal data: a test proves it).
    static func text(_ log: String) -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// The end of a bridge's log.
    static func tail(_ log: String) -> String { String(text(log).suffix(3000)) }

    /// Lines saying an event was decided in a bridge's log (`log.level = info`).
    static func decisionLines(_ log: String) -> Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter {
            $0.contains("Decided")
        }.count
    }

    static func count(_ store: BridgeStore, _ query: String) async throws -> Int {
        try await store.database.read { sql in
            let row = try await sql.raw(SQLQueryString(query)).first()
            return Int(try row?.decode(column: "n", as: Int64.self) ?? 0)
        }
    }

    /// Valid synthetic (month + 80) fødselsnumre, distinct per index.
    static func syntheticFodselsnummer(index: Int) -> String {
        var individual = 100 + index * 7
        while true {
            let day = 1 + index % 28
            let base = String(format: "%02d%02d%02d%03d", day, 81 + index % 12, 90, individual % 1000)
            let digits = base.compactMap { $0.wholeNumberValue }
            let k1 = (11 - zip(digits, [3, 7, 6, 1, 8, 9, 4, 5, 2]).map(*).reduce(0, +) % 11) % 11
            if k1 != 10 {
                let k2 = (11 - zip(digits + [k1], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]).map(*).reduce(0, +) % 11) % 11
                if k2 != 10 { return base + "\(k1)\(k2)" }
            }
            individual += 1
        }
    }
}
