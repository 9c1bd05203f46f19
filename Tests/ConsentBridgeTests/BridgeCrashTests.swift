import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

/// A child process of the built `consent-bridge` binary.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is only touched from the test task that owns this object.
    let process = Process()
    let output = Pipe()

    static var binary: String? {
        if let path = ProcessInfo.processInfo.environment["CONSENT_BRIDGE_BIN"],
            FileManager.default.isExecutableFile(atPath: path)
        {
            return path
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let debug = root.appendingPathComponent(".build/debug/consent-bridge").path
        return FileManager.default.isExecutableFile(atPath: debug) ? debug : nil
    }

    init(arguments: [String], environment: [String: String] = [:], errorLog: String? = nil) throws {
        let binary = try #require(Self.binary, "build the executable first (swift build); scripts/test does")
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = output
        if let errorLog {
            if !FileManager.default.fileExists(atPath: errorLog) {
                _ = FileManager.default.createFile(atPath: errorLog, contents: nil)
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: errorLog))
            handle.seekToEndOfFile()
            process.standardError = handle
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
    }

    /// The first stdout line starting with `prefix`.
    func readLine(startingWith prefix: String) -> String? {
        var buffer = Data()
        while true {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
                return String(line)
            }
        }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

@Suite("Bridge crash safety (SIGKILL)", .serialized, .timeLimit(.minutes(8)))
struct BridgeCrashTests {
    @Test("10,000 events, the bridge killed with SIGKILL at 5 random moments: nothing lost, nothing forwarded twice")
    func survivesKillNine() async throws {
        let broker = try ChildProcess(arguments: ["broker", "--contracts", BridgeHarness.contractsDirectory])
        defer { broker.terminate() }
        let bootstrap = try #require(broker.readLine(startingWith: "bootstrap: ")).dropFirst("bootstrap: ".count)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bridge-crash-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Each side has its own sealing key (the configuration refuses one key for both).
        let healthKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let navKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let environment = [
            "CONSENT_BRIDGE_ROLES": "bridge",
            "CONSENT_BRIDGE_EMBEDDED": "false",
            "CONSENT_BRIDGE_HEALTH_KAFKA_BOOTSTRAP_SERVERS": String(bootstrap),
            "CONSENT_BRIDGE_NAV_KAFKA_BOOTSTRAP_SERVERS": String(bootstrap),
            "CONSENT_BRIDGE_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "CONSENT_BRIDGE_KAFKA_FETCH_WAIT_MAX_MS": "10",
            "CONSENT_BRIDGE_CONTRACTS_DIRECTORY": BridgeHarness.contractsDirectory,
            "CONSENT_BRIDGE_AGREEMENTS_REGISTRY": BridgeHarness.contractsDirectory
                + "/registry/ips-agreements.development.json",
            "CONSENT_BRIDGE_DATA_DIRECTORY": directory,
            "CONSENT_BRIDGE_BRIDGE_STORE": directory + "/bridge.sqlite",
            "CONSENT_BRIDGE_HEALTH_SEALING_KEY": healthKey,
            "CONSENT_BRIDGE_HEALTH_SEALING_KEY_ID": "health-test",
            "CONSENT_BRIDGE_NAV_SEALING_KEY": navKey,
            "CONSENT_BRIDGE_NAV_SEALING_KEY_ID": "nav-test",
            "CONSENT_BRIDGE_HTTP_LISTEN_ADDRESS": "127.0.0.1:\(Int.random(in: 20000...40000))",
            "CONSENT_BRIDGE_LOG_LEVEL": "warning",
        ]

        // 50 patients, 40 with consent; 10,000 referrals spread over them.
        let logger = Logger(label: "crash-test") { _ in SwiftLogNoOpLogHandler() }
        let producer = try KafkaProducer(
            configuration: KafkaClientConfiguration(bootstrapServers: String(bootstrap)), logger: logger)
        let patients = (0..<50).map { Self.syntheticFodselsnummer(index: $0) }
        for patient in patients.prefix(40) {
            _ = try await producer.send(
                KafkaOutgoingRecord(
                    topic: "health.consent", key: Array(patient.utf8), value: try Fixtures.consent(patient: patient)))
        }
        let total = 10_000
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

        // Kill the bridge at 5 random moments, restarting it each time.
        for _ in 0..<5 {
            let bridge = try ChildProcess(
                arguments: ["run"], environment: environment, errorLog: directory + "/bridge.log")
            try await Task.sleep(for: .milliseconds(Int.random(in: 1500...6000)))
            bridge.kill9()
        }
        let bridge = try ChildProcess(arguments: ["run"], environment: environment, errorLog: directory + "/bridge.log")
        defer { bridge.terminate() }

        // Wait until every event has a decision and the outbox is drained.
        let store = try await BridgeStore.open(.sqlite(path: directory + "/bridge.sqlite"), logger: logger)
        let deadline = ContinuousClock.now + .seconds(300)
        var decided = 0
        while ContinuousClock.now < deadline {
            if !bridge.process.isRunning {
                // Reap it first: Foundation traps on `terminationStatus` of an unreaped process.
                bridge.process.waitUntilExit()
                // The bridge's log holds no personal data (a test proves it), so show its end.
                let log = (try? String(contentsOfFile: directory + "/bridge.log", encoding: .utf8)) ?? ""
                Issue.record(
                    "the restarted bridge exited with status \(bridge.process.terminationStatus): \(log.suffix(3000))")
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
            "nav.followup.inbound", bootstrap: String(bootstrap), atLeast: forwardDecisions, timeout: .seconds(60)
        )
        .compactMap { $0.headers.string(named: "ce_id") }
        // Copies carry bridge-minted ids; the receipts say which event each copy came from.
        var sourceOf: [String: String] = [:]
        for receipt in try await BridgeHarness.read(
            "health.ips.receipts", bootstrap: String(bootstrap), atLeast: total, timeout: .seconds(60))
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
