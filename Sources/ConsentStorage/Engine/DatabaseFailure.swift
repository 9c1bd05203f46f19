import PostgresKit

/// What a database error says about its cause, in terms that never hold data: PostgreSQL's
/// SQLSTATE code, the driver's own error code, and a fixed category word for operators.
///
/// A wrong password, a closed port and a read-only database all reached operators as one
/// `PSQLError`; this tells them apart. The server's message is never part of it: it can quote
/// values from the rows (a key that already exists, a value that does not fit).
package struct DatabaseFailure: Sendable, Hashable, CustomStringConvertible {
    /// PostgreSQL's five-character SQLSTATE (e.g. `28P01`), when the server sent one.
    package var sqlState: String?
    /// The driver's code for an error of its own (e.g. `serverClosedConnection`), when there is
    /// no SQLSTATE.
    package var driverCode: String?
    /// A short fixed word for the kind of failure (e.g. `authentication`, `connection`,
    /// `read-only`, `admin shutdown`).
    package var category: String
    /// Whether the connection is lost or unusable after this (a new one is needed).
    package var isConnectionLevel: Bool

    /// `sqlstate: 28P01, category: authentication` or `driver: connectionError, category: connection`.
    package var description: String {
        var parts: [String] = []
        if let sqlState { parts.append("sqlstate: \(sqlState)") }
        if let driverCode { parts.append("driver: \(driverCode)") }
        parts.append("category: \(category)")
        return parts.joined(separator: ", ")
    }

    /// The failure `error` describes, looking through `StorageError` causes; `nil` for an
    /// error that is not a PostgreSQL one.
    package init?(_ error: any Error) {
        switch error {
        case let storage as StorageError:
            guard let cause = storage.cause, let failure = DatabaseFailure(cause) else { return nil }
            self = failure
        case let error as PSQLError:
            self.init(error)
        case is PostgresLinkClosed:
            self.init(driverCode: "connectionClosed", category: "connection", isConnectionLevel: true)
        case is PostgresConnectTimeout:
            self.init(driverCode: "connectTimeout", category: "connection", isConnectionLevel: true)
        default:
            return nil
        }
    }

    private init(sqlState: String? = nil, driverCode: String? = nil, category: String, isConnectionLevel: Bool) {
        self.sqlState = sqlState
        self.driverCode = driverCode
        self.category = category
        self.isConnectionLevel = isConnectionLevel
    }

    private init(_ error: PSQLError) {
        if error.code == .server {
            // Only a well-formed code is shown: the field is the server's text.
            let state = error.serverInfo?[.sqlState].flatMap { state in
                state.utf8.count == 5 && state.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) }
                    ? state : nil
            }
            let (category, isConnectionLevel) = Self.category(sqlState: state)
            self.init(sqlState: state, category: category, isConnectionLevel: isConnectionLevel)
            return
        }
        let (category, isConnectionLevel): (String, Bool) =
            switch error.code {
            case .connectionError, .uncleanShutdown, .clientClosedConnection, .poolClosed: ("connection", true)
            case .serverClosedConnection: ("connection closed by server", true)
            case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest: ("tls", true)
            case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError: ("authentication", true)
            case .messageDecodingFailure, .unexpectedBackendMessage: ("protocol", true)
            case .queryCancelled: ("query cancelled", false)
            default: ("client", false)
            }
        self.init(driverCode: "\(error.code)", category: category, isConnectionLevel: isConnectionLevel)
    }

    /// The category of a SQLSTATE (PostgreSQL's Appendix A), and whether the connection is
    /// lost with it.
    private static func category(sqlState: String?) -> (String, Bool) {
        guard let sqlState else { return ("server", false) }
        switch sqlState {
        // Read-only: most often a primary demoted by a failover, still holding this session; a
        // new connection through the service's address reaches the promoted one (and a database
        // made read-only on purpose fails the same way on the new connection: no harm).
        case "25006": return ("read-only", true)
        case "57P01": return ("admin shutdown", true)
        case "57P02": return ("crash shutdown", true)
        case "57P03": return ("cannot connect now", true)
        case "57014": return ("query cancelled", false)
        case "42501": return ("permission denied", false)
        case "40001": return ("serialization failure", false)
        case "40P01": return ("deadlock", false)
        default: break
        }
        switch sqlState.prefix(2) {
        case "08": return ("connection", true)
        case "28": return ("authentication", true)
        case "3D": return ("unknown database", true)
        case "53": return ("insufficient resources", false)
        case "57": return ("operator intervention", true)
        case "23": return ("integrity constraint", false)
        case "22": return ("data exception", false)
        case "25": return ("transaction state", false)
        case "40": return ("transaction rollback", false)
        case "42": return ("syntax or access rule", false)
        case "54": return ("program limit", false)
        case "58": return ("system error", false)
        case "XX": return ("internal error", false)
        case "0A": return ("not supported", false)
        default: return ("server", false)
        }
    }
}
