import ConsentBridgeTesting
import ConsentConfiguration
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Synchronization
import Testing

/// A PostgreSQL store outlives its connection: when the server ends it (an operator's
/// `pg_terminate_backend`, a restart) the store connects afresh, without a process restart, and
/// what a caller's retry writes is written once (ARCHITECTURE.md: infrastructure errors halt and
/// retry; they never lose or duplicate records).
@Suite("PostgreSQL store reconnection")
struct PostgresReconnectTests {
    @Test(
        "A bridge store whose connection the server terminated writes again after one failed attempt at most; nothing lost or doubled",
        .enabled(if: TestEngine.postgresURL != nil, Comment(rawValue: TestEngine.skipMessage)))
    func bridgeStoreReconnectsAfterTermination() async throws {
        try await withScratch(.postgres) { scratch in
            let location = try await scratch.make("bridge")
            let store = try await BridgeStore.open(location, logger: ScratchLocations.logger)
            _ = try await store.record(
                BridgeBatch(messages: [Fixtures.message("m1", offset: 0)], offsets: [Fixtures.offset(1)]))

            #expect(try await Self.terminateOtherSessions(of: location) >= 1)

            // The pipeline's retry, in short: attempts until one succeeds. Each attempt must
            // answer (before the fix the second never did: its statements went to the closed
            // connection and were dropped by the driver).
            let second = BridgeBatch(messages: [Fixtures.message("m2", offset: 1)], offsets: [Fixtures.offset(2)])
            var failures = 0
            while true {
                let outcome = try await answer(within: .seconds(60)) {
                    () async -> Result<BridgeBatchResult, any Error> in
                    do { return .success(try await store.record(second)) } catch { return .failure(error) }
                }
                let attempt = try #require(outcome, "a store call on a terminated connection never answered")
                if case .success(let result) = attempt {
                    #expect(result.recordedMessageIDs == ["m2"])
                    break
                }
                failures += 1
                try #require(failures < 2, "the store did not connect afresh: \(String(describing: attempt))")
            }

            let counts = try await BridgeStoreConformanceTests.counts(store)
            #expect(counts == .init(decisions: 2, disclosures: 2, outbox: 2, rejections: 0))
            #expect(try await store.offsets(consumerGroup: "bridge") == [Fixtures.offset(2)])
            // The same batch again, as a retry whose first attempt did commit: written once.
            let again = try await store.record(second)
            #expect(again.recordedMessageIDs.isEmpty && again.duplicateMessageIDs == ["m2"])
            #expect(try await BridgeStoreConformanceTests.counts(store) == counts)
            await store.close()
        }
    }

    @Test(
        "A transaction whose connection is terminated mid-way leaves nothing behind and is not run again by the store",
        .enabled(if: TestEngine.postgresURL != nil, Comment(rawValue: TestEngine.skipMessage)))
    func transactionCutOffMidWayLeavesNothing() async throws {
        try await withScratch(.postgres) { scratch in
            let location = try await scratch.make("database")
            let database = try await StoreDatabase.open(location, logger: ScratchLocations.logger)
            try await database.transaction { sql in try await sql.raw("CREATE TABLE items (id INT PRIMARY KEY)").run() }
            let bodyRuns = RunCounter()
            let cutOff = Task {
                try await database.transaction { sql in
                    bodyRuns.count.add(1, ordering: .relaxed)
                    try await sql.raw("INSERT INTO items VALUES (1)").run()
                    try await sql.raw("SELECT pg_sleep(60)").run()
                }
            }
            // Terminate the session once it sleeps inside the transaction (its insert made).
            var terminated = 0
            for _ in 0..<600 where terminated == 0 {
                terminated = try await Self.terminateOtherSessions(of: location, onlyRunning: "pg_sleep")
                if terminated == 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(terminated == 1)
            let outcome = try await answer(within: .seconds(60)) { await cutOff.result }
            let result = try #require(outcome, "the cut-off transaction never answered")
            #expect(throws: StorageError.self) { try result.get() }
            #expect(bodyRuns.count.load(ordering: .relaxed) == 1)

            // The next transaction runs on a new connection and finds nothing of the first.
            let count = try await database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM items").first()?.decode(column: "n", as: Int64.self)
            }
            #expect(count == 0)
            await database.close()
        }
    }

    @Test(
        "A store call on a connection that stopped answering fails after the call limit, and the next succeeds",
        .enabled(if: TestEngine.postgresURL != nil, Comment(rawValue: TestEngine.skipMessage)))
    func unansweredCallIsBounded() async throws {
        try await withScratch(.postgres) { scratch in
            let location = try await scratch.make("database")
            let database = try await StoreDatabase.open(
                location, logger: ScratchLocations.logger, callLimit: .seconds(2))
            // A statement the server holds for ten minutes stands for a server gone silent.
            let outcome = try await answer(within: .seconds(60)) { () async -> Result<Void, any Error> in
                do {
                    return .success(try await database.read { sql in try await sql.raw("SELECT pg_sleep(600)").run() })
                } catch { return .failure(error) }
            }
            let result = try #require(outcome, "the store call was not bounded")
            #expect(throws: StorageError.self) { try result.get() }
            let one = try await database.read { sql in
                try await sql.raw("SELECT 1 AS one").first()?.decode(column: "one", as: Int64.self)
            }
            #expect(one == 1)
            await database.close()
        }
    }

    @Test(
        "A wrong password is reported by its SQLSTATE (28P01) and category, never with the password or the server's message",
        .enabled(if: TestEngine.postgresURL != nil, Comment(rawValue: TestEngine.skipMessage)))
    func wrongPasswordNamesItsSQLState() async throws {
        let base = try #require(TestEngine.postgresURL)
        var components = try #require(URLComponents(string: base))
        let password = "wrong-\(knownFodselsnummer)"
        components.password = password
        let location = try StoreLocation(parsing: try #require(components.string))
        do {
            let database = try await StoreDatabase.open(location, logger: ScratchLocations.logger)
            await database.close()
            Issue.record("a wrong password was accepted")
        } catch {
            let text = "\(error)"
            #expect(error.code == .connectionFailed)
            #expect(text.contains("sqlstate: 28P01"))
            #expect(text.contains("category: authentication"))
            #expect(!text.contains(password) && !text.contains(knownFodselsnummer))
            // The server's message ("password authentication failed for user …") names the role.
            #expect(!text.contains("password authentication failed"))
            #expect(error.databaseFailure?.sqlState == "28P01")
        }
    }

    /// Terminates every other client session on `location`'s database (those whose running
    /// statement contains `onlyRunning`, if given); returns how many.
    static func terminateOtherSessions(of location: StoreLocation, onlyRunning: String? = nil) async throws -> Int {
        let admin = try await StoreDatabase.open(location, logger: ScratchLocations.logger)
        let filter = onlyRunning.map { " AND state = 'active' AND strpos(query, '\($0)') > 0" } ?? ""
        do {
            let terminated = try await admin.read { sql in
                try await sql.raw(
                    """
                    SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND backend_type = 'client backend'\(unsafeRaw: filter)
                    """
                ).all().count
            }
            await admin.close()
            return terminated
        } catch {
            await admin.close()
            throw error
        }
    }
}

/// How often a closure ran.
private final class RunCounter: Sendable {
    let count = Atomic<Int>(0)
}

/// What `operation` returns, or `nil` when it has not answered within `limit` (it is then left
/// running: a call that never returns would hold a task group, and the test, for good).
func answer<T: Sendable>(within limit: Duration, _ operation: @escaping @Sendable () async -> T) async throws -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = OnceContinuation(continuation)
        Task { once.resume(await operation()) }
        Task {
            try? await Task.sleep(for: limit)
            once.resume(nil)
        }
    }
}

/// A continuation resumed by the first of its answers.
private final class OnceContinuation<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T?, Never>?>

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ value: T?) { self.continuation.withLock { $0.take() }?.resume(returning: value) }
}
