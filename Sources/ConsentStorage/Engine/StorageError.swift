/// An error from a ConsentBridge store: a stable code plus an operator-safe message.
///
/// The `description` never contains row values, bound parameters or database error details
/// (they may hold personal data such as a fødselsnummer); the underlying error is kept in
/// `cause` for programmatic inspection only.
package struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        package var description: String { self.name }

        /// The store location string could not be understood (not a path, not a postgres URL).
        package static let invalidLocation = Code("invalid-location")
        /// Two stores were configured to use the same database.
        package static let sameDatabase = Code("same-database")
        /// The database belongs to another kind of store (e.g. a health store opened as NAV store).
        package static let wrongStoreKind = Code("wrong-store-kind")
        /// The database has migrations newer than this program knows: refuse rather than guess.
        package static let schemaTooNew = Code("schema-too-new")
        /// Connecting to or opening the database failed.
        package static let connectionFailed = Code("connection-failed")
        /// A statement or transaction failed in the database.
        package static let queryFailed = Code("query-failed")
        /// A row read back from the database did not have the expected shape.
        package static let corruptRow = Code("corrupt-row")
        /// The caller passed a batch that violates the store's contract (e.g. offsets going back).
        package static let invalidBatch = Code("invalid-batch")
        /// The store was used after `close()`.
        package static let closed = Code("closed")
        /// The stored consumer positions were read from another Kafka cluster than the one now
        /// answering: reading on would skip or repeat records silently, so nothing is read
        /// until an operator adopts the new cluster (`KafkaClusterBindings`).
        package static let kafkaClusterReplaced = Code("kafka-cluster-replaced")
        /// A record must be quarantined (R10) but the store was opened without a quarantine key.
        package static let quarantineUnavailable = Code("quarantine-unavailable")
    }

    /// The kind of failure.
    package var code: Code
    /// Operator-safe explanation; never includes data values.
    package var message: String
    /// The underlying error, if any (not printed: it may quote data).
    package var cause: (any Error)?
    /// Where the error was raised.
    package var file: String
    /// Where the error was raised.
    package var line: Int

    /// Creates an error; `message` must not contain personal data.
    package init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line)
    {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// What PostgreSQL (or its driver) said the cause was, without its message: the SQLSTATE
    /// or driver code and a fixed category (`nil` when the cause is no PostgreSQL error).
    package var databaseFailure: DatabaseFailure? { DatabaseFailure(self) }

    package var description: String {
        var text = "StorageError(\(self.code)): \(self.message)"
        if let cause {
            // Only the type name of the cause, and for PostgreSQL its codes and a fixed category:
            // the cause's text may quote values from the database.
            var innermost = cause
            while let storage = innermost as? StorageError, let inner = storage.cause { innermost = inner }
            text += " [cause: \(type(of: innermost))"
            if let failure = self.databaseFailure { text += ", \(failure)" }
            text += "]"
        }
        return text
    }
}
