import ConsentBridgeTesting
import Foundation
import SQLKit
import Testing

@testable import ConsentStorage

/// Every store's transactions run on a thread of its own, from the first statement to the
/// commit. On SQLite the blocking calls then never hold one of Swift's cooperative threads; on
/// PostgreSQL a transaction never waits for one between two statements while it holds the
/// store's one connection (it waited ~25 ms behind a pipeline deciding a batch, and the
/// bridge on PostgreSQL made ~30% fewer events per second).
@Suite("Store threads")
struct StoreThreadTests {
    /// The system's name of the calling thread (what `top -H`, perf and `/proc` show).
    private static func currentThreadName() -> String {
        let path = "/proc/thread-self/comm"
        let bytes = FileHandle(forReadingAtPath: path)?.readDataToEndOfFile() ?? Data()
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    private static func expectedName(_ engine: TestEngine) -> String {
        switch engine {
        case .sqlite: StoreDatabase.storeThreadName
        case .postgres: StoreDatabase.postgresThreadName
        }
    }

    @Test(
        "transactions and reads run on the store's own thread, after every statement too",
        arguments: TestEngine.available)
    func transactionsRunOnTheStoreThread(engine: TestEngine) async throws {
        try await withScratchDatabase(engine) { database in
            #expect(!database.isOnStoreThread)
            let inTransaction = try await database.transaction { sql -> [Bool] in
                var onThread = [database.isOnStoreThread]
                try await sql.raw("CREATE TABLE t (x INTEGER)").run()
                onThread.append(database.isOnStoreThread)
                for value in 1...3 {
                    try await sql.raw("INSERT INTO t (x) VALUES (\(bind: value))").run()
                    onThread.append(database.isOnStoreThread)
                }
                return onThread
            }
            let inRead = try await database.read { sql -> [Bool] in
                var onThread = [database.isOnStoreThread]
                _ = try await sql.raw("SELECT COUNT(*) AS n FROM t").first()
                onThread.append(database.isOnStoreThread)
                return onThread
            }
            #expect(inTransaction == [true, true, true, true, true])
            #expect(inRead == [true, true])
            #expect(!database.isOnStoreThread)
        }
    }

    /// Operators (`top -H`, perf) and `bench bridge`'s per-thread figures find the store's
    /// thread by its system name.
    @Test("the store's thread carries its name where the system shows threads", arguments: TestEngine.available)
    func storeThreadIsNamed(engine: TestEngine) async throws {
        try await withScratchDatabase(engine) { database in
            let name = try await database.read { sql -> String in
                _ = try await sql.raw("SELECT 1 AS one").first()
                return Self.currentThreadName()
            }
            #expect(name == Self.expectedName(engine))
        }
    }
}
