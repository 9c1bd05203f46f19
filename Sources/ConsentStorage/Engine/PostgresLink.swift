import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import Synchronization

/// One PostgreSQL connection of a store, and the SQL interface its transactions run through.
///
/// A store replaces its link when the link is no longer usable (`isUsable`): the server
/// closed the connection (`pg_terminate_backend`, a restart), a statement failed in a way that
/// leaves the session in an unknown state, or a call outlasted `callLimit`. The next
/// transaction then connects afresh (`StoreDatabase.currentLink`).
///
/// Every statement is handed to the connection on its event loop, after a check there that the
/// connection is still open (`PostgresLinkSQLDatabase`). PostgresNIO sends a query to its
/// channel without a write promise: once a closed channel has shed its handlers, such a query
/// is dropped and its caller waits forever. That is how the retry after a terminated backend
/// hung (its BEGIN went to the closed connection). On the event loop, an open channel still
/// has its handler, which fails a query on a closing connection at once.
final class PostgresLink: Sendable {
    /// The connection (open or not).
    let connection: PostgresConnection
    /// PostgresKit's interface to the connection (statements go through `sql`).
    fileprivate let base: any SQLDatabase
    /// The driver's logger (never below `.info`).
    let driverLogger: Logger
    private let isBroken = Atomic<Bool>(false)

    /// The longest a connection attempt takes (TCP, TLS and authentication) before it counts
    /// as failed: a retry loop then logs its attempt and tries again.
    static let connectLimit: TimeAmount = .seconds(5)

    private init(connection: PostgresConnection, driverLogger: Logger) {
        self.connection = connection
        self.driverLogger = driverLogger
        self.base = connection.sql(queryLogLevel: nil)
    }

    /// The statements' interface, through the open-connection check.
    var sql: PostgresLinkSQLDatabase { PostgresLinkSQLDatabase(link: self) }

    /// Whether transactions may run on this connection: open, and not given up.
    var isUsable: Bool { !self.isBroken.load(ordering: .relaxed) && !self.connection.isClosed }

    /// Gives the connection up (the next transaction connects afresh) and closes it.
    func giveUp() async {
        self.isBroken.store(true, ordering: .relaxed)
        try? await self.connection.close()
    }

    /// Connects with `configuration`; fails after `connectLimit` at most.
    static func connect(
        configuration: SQLPostgresConfiguration, driverLogger: Logger
    ) async throws -> PostgresLink {
        var core = configuration.coreConfiguration
        core.options.connectTimeout = Self.connectLimit
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let promise = eventLoop.makePromise(of: PostgresConnection.self)
        let attempt: EventLoopFuture<PostgresConnection> = PostgresConnection.connect(
            on: eventLoop, configuration: core, id: Int.random(in: 1...Int.max), logger: driverLogger)
        // The connect timeout bounds the TCP connection only; a server that accepts and then
        // stays silent (TLS, startup, authentication) is bounded here.
        let timeout = eventLoop.scheduleTask(in: Self.connectLimit) {
            promise.fail(PostgresConnectTimeout())
        }
        attempt.whenComplete { result in
            timeout.cancel()
            switch result {
            case .success(let connection):
                // On the event loop: a promise failed by the timeout already ignores this.
                promise.succeed(connection)
                promise.futureResult.whenFailure { _ in Self.close(connection) }
            case .failure(let error):
                promise.fail(error)
            }
        }
        let connection = try await promise.futureResult.get()
        return PostgresLink(connection: connection, driverLogger: driverLogger)
    }

    /// Runs `query` on the connection, all rows collected, through the open-connection check
    /// (for hot reads decoded by PostgresNIO directly).
    func query(_ query: PostgresQuery) async throws -> PostgresQueryResult {
        let connection = self.connection
        let logger = self.driverLogger
        return try await connection.eventLoop.flatSubmit {
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(PostgresLinkClosed())
            }
            return connection.query(query, logger: logger)
        }.get()
    }

    /// Closes the connection after `limit` unless `cancel` runs first: a call on a connection
    /// that stopped answering (a server gone silent) then fails, and the next connects afresh.
    func watch(limit: TimeAmount) -> Scheduled<Void> {
        self.connection.eventLoop.scheduleTask(in: limit) { [self] in
            self.isBroken.store(true, ordering: .relaxed)
            Self.close(self.connection)
        }
    }

    /// Starts closing `connection` (its in-flight statement fails) without waiting.
    private static func close(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = closing
    }
}

/// A statement was not sent: the store's PostgreSQL connection is closed.
struct PostgresLinkClosed: Error, CustomStringConvertible {
    var description: String { "the PostgreSQL connection is closed" }
}

/// Connecting to PostgreSQL took longer than `PostgresLink.connectLimit`.
struct PostgresConnectTimeout: Error, CustomStringConvertible {
    var description: String { "connecting to PostgreSQL timed out" }
}

/// A connection's SQLKit interface whose statements are sent from the connection's event loop
/// once it is seen open there (see `PostgresLink`).
struct PostgresLinkSQLDatabase: SQLDatabase {
    /// The link whose connection runs the statements.
    let link: PostgresLink

    var logger: Logger { self.link.driverLogger }
    var eventLoop: any EventLoop { self.link.base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { self.link.base.version }
    var dialect: any SQLDialect { self.link.base.dialect }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void)
        -> EventLoopFuture<Void>
    {
        let base = self.link.base
        let connection = self.link.connection
        return connection.eventLoop.flatSubmit {
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(PostgresLinkClosed())
            }
            // On the event loop, PostgresKit hands the query to the channel at once.
            return base.execute(sql: query, onRow)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await self.execute(sql: query, onRow).get()
    }
}
