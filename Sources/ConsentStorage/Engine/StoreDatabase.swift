import CSQLite
package import ConsentConfiguration
import Foundation
package import Logging
import NIOCore
import PostgresKit
package import SQLKit
import Synchronization

/// One open database connection for one store, with serialized transactions.
///
/// Every read and write of a store goes through `transaction(_:)` or `read(_:)`: statements of
/// one transaction never interleave with another task's. SQL is written once over SQLKit;
/// `engine` picks the few engine-specific statements. Query logging is switched off because
/// bound values may be personal data.
///
/// On PostgreSQL the connection is replaced when it breaks (the server closed it, or a failure
/// left its session in an unknown state): the next transaction or read connects afresh, with
/// the same configuration, before it runs (`currentLink`). A transaction that failed with its
/// connection is not run again here: it failed as a whole (the server rolls back what a
/// dropped session did not commit), and the caller's retry decides.
package final class StoreDatabase: Sendable {
    /// The name a SQLite store's own thread (every transaction) carries where the system shows
    /// threads (`top -H`, perf, `/proc`), for operators and `bench bridge`'s per-thread figures.
    package static let storeThreadName = "sqlite-store"
    /// The name of a PostgreSQL store's thread (where its transactions run between statements).
    package static let postgresThreadName = "postgres-store"
    /// The name of a SQLite store's background checkpointer thread.
    package static let checkpointThreadName = "sqlite-ckpt"
    /// The engine behind this connection.
    package let engine: SQLEngine
    /// Where the database lives (operator-safe `description`).
    package let location: StoreLocation
    /// The SQLite connection's SQLKit interface (`nil` on PostgreSQL, whose is its link's).
    private let sqliteSQL: (any SQLDatabase)?
    /// The SQLite connection itself, for the bulk statements that bypass SQLKit (`nil` on PostgreSQL).
    let sqliteHandle: SQLiteHandle?
    /// How a PostgreSQL store connects (`nil` on SQLite).
    private let postgresConfiguration: SQLPostgresConfiguration?
    /// The PostgreSQL connection now in use (`nil` on SQLite, or until the next transaction
    /// connects afresh). Replaced and used only with the gate held.
    private let postgresLink: Mutex<PostgresLink?>
    /// The driver's logger (never below `.info`: its debug output can include bound values).
    let driverLogger: Logger
    /// The store's own logger (connection lost and re-established).
    private let logger: Logger
    /// The longest one `transaction` or `read` on PostgreSQL may wait for its connection's
    /// answers: past it the connection is closed (the call fails and the next connects afresh),
    /// so a server that stopped answering without closing the connection cannot hold a caller,
    /// and every caller behind it, for good. Generous: a long report or erasure is no hang.
    package static let postgresCallLimit: Duration = .seconds(120)
    private let callLimit: Duration
    /// The thread the store's transactions run on (see `open`).
    private let thread: ExecutorThread?
    private let gate = AsyncSerialGate()
    /// The store's thread as a task executor, for a caller whose task does little but run this
    /// store's transactions one after another: preferring it, such a task starts and resumes
    /// there instead of waiting for one of Swift's two cooperative threads between transactions.
    package var taskExecutor: (any TaskExecutor)? { self.thread }
    private let closeConnection: @Sendable () async throws -> Void
    /// A SQLite store's background checkpointer (nil on PostgreSQL, and once closed).
    private let checkpointer = Mutex<BackgroundCheckpointer?>(nil)
    private let isClosed = Mutex(false)
    /// How the SQLite connection syncs its commits now (`PRAGMA synchronous`); nil when not
    /// known (a failed change). Read and changed only with the gate held.
    private let sqliteDurability = Mutex<CommitDurability?>(.synced)

    private init(
        engine: SQLEngine,
        location: StoreLocation,
        sqliteSQL: (any SQLDatabase)? = nil,
        sqliteHandle: SQLiteHandle? = nil,
        postgresConfiguration: SQLPostgresConfiguration? = nil,
        postgresLink: PostgresLink? = nil,
        driverLogger: Logger,
        logger: Logger,
        callLimit: Duration = StoreDatabase.postgresCallLimit,
        thread: ExecutorThread? = nil,
        close: @escaping @Sendable () async throws -> Void
    ) {
        self.engine = engine
        self.location = location
        self.sqliteSQL = sqliteSQL
        self.sqliteHandle = sqliteHandle
        self.postgresConfiguration = postgresConfiguration
        self.postgresLink = Mutex(postgresLink)
        self.driverLogger = driverLogger
        self.logger = logger
        self.callLimit = callLimit
        self.thread = thread
        self.closeConnection = close
    }

    /// Opens a connection to `location` (creating a SQLite file and its folder if needed).
    ///
    /// `callLimit`: see `postgresCallLimit` (tests shorten it).
    package static func open(
        _ location: StoreLocation, logger: Logger, callLimit: Duration = StoreDatabase.postgresCallLimit
    ) async throws(StorageError) -> StoreDatabase {
        // Driver loggers never go below .info: their debug/trace output can include bound values.
        var driverLogger = logger
        if driverLogger.logLevel < .info { driverLogger.logLevel = .info }
        switch location {
        case .sqlite(let path):
            // Opening runs on the store's thread as well: creating the file and switching it to
            // WAL write and sync, which must not hold one of Swift's cooperative threads.
            let thread = ExecutorThread(name: Self.storeThreadName)
            do {
                return try await withTaskExecutorPreference(thread) {
                    try await Self.openSQLite(
                        path: path, location: location, thread: thread, driverLogger: driverLogger, logger: logger)
                }
            } catch let error as StorageError {
                thread.stop()
                throw error
            } catch {
                thread.stop()
                throw StorageError(.connectionFailed, "could not open SQLite store at \(location)", cause: error)
            }
        case .postgres(let url):
            // The connection's transactions run on a thread of their own too, though the driver
            // does not block: between two statements a transaction resumes on its executor, and
            // on Swift's cooperative pool it waited there behind a pipeline deciding a whole
            // batch (~20 ms on two cores) while holding the one connection every other
            // transaction needs. The relay's marks spent most of their time so, idle in a
            // transaction (the server's statement log showed 25 ms from BEGIN to the first
            // statement).
            let thread = ExecutorThread(name: Self.postgresThreadName)
            do {
                let configuration = try SQLPostgresConfiguration(url: url.url)
                let link = try await PostgresLink.connect(configuration: configuration, driverLogger: driverLogger)
                let database = StoreDatabase(
                    engine: .postgres,
                    location: location,
                    postgresConfiguration: configuration,
                    postgresLink: link,
                    driverLogger: driverLogger,
                    logger: logger,
                    callLimit: callLimit,
                    thread: thread,
                    close: { thread.stop() }
                )
                return database
            } catch {
                thread.stop()
                throw StorageError(
                    .connectionFailed, "could not connect to PostgreSQL store at \(location)", cause: error)
            }
        }
    }

    /// Opens a SQLite store on `thread` (the caller runs there already).
    private static func openSQLite(
        path: String, location: StoreLocation, thread: ExecutorThread, driverLogger: Logger, logger: Logger
    ) async throws -> StoreDatabase {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let handle = try SQLiteHandle.open(path: path)
        let database = StoreDatabase(
            engine: .sqlite,
            location: location,
            sqliteSQL: SQLiteSQLDatabase(handle: handle, logger: driverLogger),
            sqliteHandle: handle,
            driverLogger: driverLogger,
            logger: logger,
            thread: thread,
            close: {
                handle.close()
                thread.stop()
            }
        )
        // WAL: readers do not block the writer. synchronous=FULL: a commit is on disk when it
        // returns. With NORMAL a power loss could roll back the last commits; their offsets
        // went with them, so nothing was skipped, but the relay publishes a batch's records as
        // soon as it commits, so the other side would hold disclosures the store no longer
        // records (and a second decision, with new ids, about the same events). The relay's
        // marks alone commit without a sync (`CommitDurability.deferred`). Checkpoints run in
        // the background (below); the writer's own only past 64 MiB of WAL, as a backstop.
        // A 64 MiB page cache holds a whole bridge batch: with SQLite's default 2 MiB
        // a batch spilled pages to the WAL mid-transaction and read them back.
        // secure_delete: erased and deleted content is overwritten with zeros, not just
        // unlinked (Debian's build has it on by default; other builds may not).
        do {
            for pragma in [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                "PRAGMA secure_delete=ON",
                "PRAGMA busy_timeout=10000",
                "PRAGMA cache_size=-65536", "PRAGMA temp_store=MEMORY",
                "PRAGMA wal_autocheckpoint=\(BackgroundCheckpointer.writerBackstopPages)",
            ] {
                _ = try handle.query(pragma)
            }
            let background = try BackgroundCheckpointer.start(path: path)
            database.checkpointer.withLock { $0 = background }
        } catch {
            await database.close()
            throw error
        }
        return database
    }

    /// Runs `body` inside one database transaction: committed if it returns, rolled back if it throws.
    ///
    /// The whole transaction runs on the store's own thread: on SQLite the blocking calls never
    /// hold one of Swift's cooperative threads, on PostgreSQL the transaction never waits for
    /// one between statements. The caller continues on its own executor.
    ///
    /// `durability`: whether the commit is on disk when this returns (the default), or may be
    /// lost to a power cut or a database server crash (never to a crash of this process).
    package func transaction<R>(
        durability: CommitDurability = .synced, _ body: (any SQLDatabase) async throws -> R
    ) async throws(StorageError) -> R {
        do {
            return try await withTaskExecutorPreference(self.thread) {
                try await self.gate.withGate {
                    try self.checkOpen()
                    let (sql, link) = try await self.connection()
                    let watch = link?.watch(limit: TimeAmount(self.callLimit))
                    defer { watch?.cancel() }
                    try await self.prepareSQLiteDurability(durability)
                    do {
                        try await sql.raw(SQLQueryString(self.engine.beginTransaction)).run()
                    } catch {
                        await self.afterFailure(of: link, error)
                        throw error
                    }
                    let result: R
                    do {
                        if self.engine == .postgres, durability == .deferred {
                            // This transaction only: the server does not wait for its WAL flush.
                            try await sql.raw("SET LOCAL synchronous_commit TO OFF").run()
                        }
                        result = try await body(sql)
                    } catch {
                        // Roll back, then report the original error.
                        await self.rollBack(sql, link: link, after: error)
                        throw error
                    }
                    do {
                        try await sql.raw("COMMIT").run()
                    } catch {
                        // A commit whose connection died may or may not have been applied: the
                        // caller's retry must be safe either way, as after a crash.
                        await self.rollBack(sql, link: link, after: error)
                        throw error
                    }
                    return result
                }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.queryFailed, "transaction on \(self.engine) store failed", cause: error)
        }
    }

    /// The connection the next transaction or read runs on, with the gate held: on PostgreSQL
    /// the current link, or a new one when the current is closed or given up (`nil` link on
    /// SQLite). A failed connection attempt throws `.connectionFailed` within
    /// `PostgresLink.connectLimit`.
    private func connection() async throws(StorageError) -> (any SQLDatabase, PostgresLink?) {
        guard let configuration = self.postgresConfiguration else {
            guard let sql = self.sqliteSQL else { throw StorageError(.closed, "store connection is closed") }
            return (sql, nil)
        }
        let current = self.postgresLink.withLock { $0 }
        if let current, current.isUsable { return (current.sql, current) }
        if let current {
            // Closed already, or given up: closing it again only releases the channel.
            try? await current.connection.close()
            self.postgresLink.withLock { $0 = nil }
            self.logger.warning(
                "PostgreSQL store connection lost; connecting afresh", metadata: ["store.location": "\(self.location)"])
        }
        let link: PostgresLink
        do {
            link = try await PostgresLink.connect(configuration: configuration, driverLogger: self.driverLogger)
        } catch {
            throw StorageError(
                .connectionFailed, "could not connect to PostgreSQL store at \(self.location)", cause: error)
        }
        self.postgresLink.withLock { $0 = link }
        self.logger.notice(
            "PostgreSQL store connection re-established", metadata: ["store.location": "\(self.location)"])
        return (link.sql, link)
    }

    /// Rolls the open transaction back; on PostgreSQL, a connection that cannot roll back (it
    /// closed, or its session is in an unknown state) is given up, so that the next
    /// transaction runs on a new one.
    private func rollBack(_ sql: any SQLDatabase, link: PostgresLink?, after error: any Error) async {
        guard let link else {
            // SQLite: a failed rollback on a broken connection adds nothing the caller can act on.
            try? await sql.raw("ROLLBACK").run()
            return
        }
        guard link.isUsable, DatabaseFailure(error)?.isConnectionLevel != true else {
            await link.giveUp()
            return
        }
        do {
            try await sql.raw("ROLLBACK").run()
        } catch {
            await link.giveUp()
        }
    }

    /// After a statement outside a transaction failed: a PostgreSQL connection that closed
    /// meanwhile, or that the error says is lost, is given up.
    private func afterFailure(of link: PostgresLink?, _ error: any Error) async {
        if let link, !link.isUsable || DatabaseFailure(error)?.isConnectionLevel == true { await link.giveUp() }
    }

    /// Sets the SQLite connection's `synchronous` for the next transaction when it differs
    /// (FULL for `.synced`, NORMAL for `.deferred`); nothing on PostgreSQL. Outside a
    /// transaction, with the gate held: SQLite ignores the setting inside one.
    private func prepareSQLiteDurability(_ durability: CommitDurability) async throws {
        guard self.engine == .sqlite, self.sqliteDurability.withLock({ $0 }) != durability else { return }
        self.sqliteDurability.withLock { $0 = nil }
        let level = durability == .synced ? "FULL" : "NORMAL"
        try await self.sqliteSQL?.raw("PRAGMA synchronous=\(unsafeRaw: level)").run()
        self.sqliteDurability.withLock { $0 = durability }
    }

    /// Runs read-only `body` with the connection held (no explicit transaction).
    package func read<R>(_ body: (any SQLDatabase) async throws -> R) async throws(StorageError) -> R {
        do {
            return try await withTaskExecutorPreference(self.thread) {
                try await self.gate.withGate {
                    try self.checkOpen()
                    let (sql, link) = try await self.connection()
                    let watch = link?.watch(limit: TimeAmount(self.callLimit))
                    defer { watch?.cancel() }
                    do {
                        return try await body(sql)
                    } catch {
                        await self.afterFailure(of: link, error)
                        throw error
                    }
                }
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.queryFailed, "read from \(self.engine) store failed", cause: error)
        }
    }

    /// Closes the connection; later calls fail with `.closed`.
    package func close() async {
        let wasClosed = self.isClosed.withLock { closed -> Bool in
            defer { closed = true }
            return closed
        }
        if wasClosed { return }
        // On the store's thread: closing checkpoints the WAL into the file (writes and syncs).
        await withTaskExecutorPreference(self.thread) {
            _ = try? await self.gate.withGate {
                // The checkpointer's connection first: the last to close checkpoints.
                self.checkpointer.withLock { $0.take() }?.stop()
                if let link = self.postgresLink.withLock({ $0.take() }) { try? await link.connection.close() }
                try await self.closeConnection()
            }
        }
    }

    /// Runs the SQLite checkpointer's pass at once (what it does four times a second), cutting
    /// the WAL back to nothing whether or not that is due, and returns when it is over; nothing
    /// on PostgreSQL or once closed. For tests, which then need not wait for the checkpointer.
    package func checkpointNow() async throws(StorageError) {
        guard self.engine == .sqlite else { return }
        try await self.read { _ in
            // With the gate held, on the store's thread: the store's own connection is idle.
            self.checkpointer.withLock { $0 }?.passNow()
        }
    }

    /// Whether the caller runs on this store's own thread.
    var isOnStoreThread: Bool { self.thread?.isCurrent ?? false }

    private func checkOpen() throws(StorageError) {
        if self.isClosed.withLock({ $0 }) {
            throw StorageError(.closed, "store connection is closed")
        }
    }
}

extension StoreDatabase {
    /// Names of the tables in this store (for operators and the separation tests).
    package func tableNames() async throws(StorageError) -> Set<String> {
        let engine = self.engine
        return try await self.read { sql in
            let query: SQLQueryString =
                switch engine {
                case .sqlite:
                    "SELECT name AS table_name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                case .postgres: "SELECT tablename AS table_name FROM pg_tables WHERE schemaname = current_schema()"
                }
            return Set(try await sql.raw(query).all().map { try $0.decode(column: "table_name", as: String.self) })
        }
    }
}

/// Copies a SQLite store's WAL into the database file from a second connection, a few times a
/// second, so that the transactions of the hot path do not stop to checkpoint (a checkpoint
/// took up to a third of a bridge batch's commit time). Passive checkpoints never block the
/// writer; if they fall behind, the writer's own checkpoint past the backstop takes over.
///
/// It also bounds how long erased content stays readable in the WAL file (R9). `secure_delete`
/// zeroes erased bytes in the database's pages, but the WAL keeps every page image written to
/// it, the ones from before an erasure included, until later frames happen to overwrite them
/// (SQLite reuses the file from its start, it does not shrink or clear it): an audit found a
/// running bridge's erased payloads in `bridge.sqlite-wal` minutes later. So while the WAL file
/// holds anything, the checkpointer cuts it to zero bytes at most `truncationInterval` after it
/// last did (`wal_checkpoint(TRUNCATE)`): every frame is copied in and the file truncated, so
/// what a transaction erased is gone from the file within about `truncationInterval` plus one
/// tick of its commit. A restarting checkpoint alone would not do: the next writer overwrites
/// the WAL from its start, and frames past what it writes stay; nor would
/// `journal_size_limit`, which trims the file only when a writer restarts it, and then only
/// past the limit. The truncating checkpoint holds the write lock while it finishes (waiting
/// at most `truncationBusyTimeout` for readers of older frames): a passive checkpoint just
/// before copies almost everything without the lock, so the writer waits about as long as it
/// takes to cut the file. A truncation kept from finishing (a writer or reader in the way)
/// is tried again at the next tick, then less often up to `truncationInterval` while it keeps
/// failing (a reader holding an old snapshot keeps the frames it reads in any case); it never
/// fails a transaction.
final class BackgroundCheckpointer: Sendable {
    /// The writer checkpoints itself once the WAL holds this many pages (64 MiB at 4 KiB).
    static let writerBackstopPages = 16_384
    static let interval = 0.25
    /// At most this long after one truncation of the WAL the next is made, while the WAL
    /// holds anything (the bound on erased content in the WAL is this plus one tick).
    static let truncationInterval: Duration = .seconds(1)
    /// How long a truncating checkpoint waits for the writer's lock, and then (holding it, so
    /// the writer waits too) for readers still reading frames (SQLite's busy timeout).
    static let truncationBusyTimeout = 100

    /// The checkpointer's connection and when it next cuts the WAL back, used by one pass at
    /// a time (the thread's, or one asked for through `passNow`).
    private struct Connection {
        /// nil once closed.
        var handle: SQLiteHandle?
        /// The WAL's path, whose size tells whether it holds anything.
        let walPath: String
        /// When the next truncation is due (at once when the store opens: a WAL left by a
        /// crash may hold anything).
        var nextTruncation = ContinuousClock.now
        /// How long after a truncation that failed the next is tried.
        var retryDelay = Duration.seconds(BackgroundCheckpointer.interval)
    }

    private final class Control: Sendable {
        let stopped = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        let exited = DispatchSemaphore(value: 0)
        let connection: Mutex<Connection>

        init(handle: SQLiteHandle, walPath: String) {
            self.connection = Mutex(Connection(handle: handle, walPath: walPath))
        }
    }
    private let control: Control

    private init(handle: SQLiteHandle, walPath: String) {
        let control = Control(handle: handle, walPath: walPath)
        self.control = control
        let thread = Thread {
            // Named from inside, as the store's own thread is (`ExecutorThread`).
            consent_sqlite_name_current_thread(StoreDatabase.checkpointThreadName)
            while true {
                _ = control.wake.wait(timeout: .now() + Self.interval)
                if control.stopped.load(ordering: .acquiring) { break }
                Self.pass(control, truncatingNow: false)
            }
            control.connection.withLock { connection in
                connection.handle?.close()
                connection.handle = nil
            }
            control.exited.signal()
        }
        thread.start()
    }

    static func start(path: String) throws -> BackgroundCheckpointer {
        let handle = try SQLiteHandle.open(path: path)
        do {
            // Only a truncating checkpoint waits (a passive one never does).
            _ = try handle.query("PRAGMA busy_timeout=\(Self.truncationBusyTimeout)")
        } catch {
            handle.close()
            throw error
        }
        return BackgroundCheckpointer(handle: handle, walPath: path + "-wal")
    }

    /// One pass: what the thread does at every tick. A passive checkpoint, and when the WAL
    /// holds anything and its truncation is due (or `truncatingNow`), a truncating one after
    /// it. A busy or failed pass is retried at the next tick; the backstop bounds the WAL.
    private static func pass(_ control: Control, truncatingNow: Bool) {
        control.connection.withLock { connection in
            guard let handle = connection.handle else { return }
            _ = try? handle.query("PRAGMA wal_checkpoint(PASSIVE)")
            let now = ContinuousClock.now
            guard truncatingNow || now >= connection.nextTruncation, Self.holdsAnything(connection.walPath) else {
                return
            }
            // The result row: busy (1 if it could not finish), frames in the WAL, frames copied.
            let busy = (try? handle.query("PRAGMA wal_checkpoint(TRUNCATE)"))?.values.first?.first
            if busy == .integer(0) {
                connection.nextTruncation = now + Self.truncationInterval
                connection.retryDelay = .seconds(Self.interval)
            } else {
                connection.nextTruncation = now + connection.retryDelay
                connection.retryDelay = min(connection.retryDelay * 2, Self.truncationInterval)
            }
        }
    }

    /// Whether the file at `path` exists and is not empty.
    private static func holdsAnything(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_size > 0
    }

    /// Runs a pass at once, truncating the WAL whether or not it is due, on the caller's
    /// thread, and returns when it is over (it blocks: call it from the store's own thread).
    func passNow() {
        Self.pass(self.control, truncatingNow: true)
    }

    /// Stops the thread and closes its connection (waits for a pass under way, if any).
    func stop() {
        self.control.stopped.store(true, ordering: .releasing)
        self.control.wake.signal()
        self.control.exited.wait()
    }
}

/// Whether a transaction's commit is on disk when it returns.
package enum CommitDurability: Sendable {
    /// On disk when the commit returns (SQLite `synchronous=FULL`, PostgreSQL's default): for
    /// anything acted on once committed, such as a batch whose records the relay publishes.
    case synced
    /// May be lost to a power cut or a database server crash, never to a crash of this
    /// process (SQLite `synchronous=NORMAL` in WAL mode, PostgreSQL `synchronous_commit` off):
    /// for bookkeeping that is found again when lost, such as the relay's marks of what it
    /// published (`PublishedRowRecovery` reads a lost mark's records back from their topics).
    case deferred
}
