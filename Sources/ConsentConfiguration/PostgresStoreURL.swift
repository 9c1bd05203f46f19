import Foundation

/// A parsed `postgres://user:password@host:port/database?sslmode=…` store URL.
///
/// `description` replaces the password with `***`; `url` is the original text, for the
/// PostgreSQL client only.
package struct PostgresStoreURL: Sendable, Hashable, CustomStringConvertible {
    /// The URL as configured, password included: pass it to the client, never to a log.
    package var url: String
    /// Database user (percent-decoded).
    package var username: String
    /// Password (percent-decoded; secret).
    package var password: String?
    /// Server host.
    package var host: String
    /// Server port (default 5432).
    package var port: Int
    /// Database name.
    package var database: String
    /// The `sslmode` (or `tlsmode`) query parameter (`disable`, `prefer`, `require`, `verify-full` …), if given.
    package var sslMode: String?

    /// Parses a `postgres://` / `postgresql://` URL; the error never contains the URL.
    package static func parse(_ text: String) -> Result<PostgresStoreURL, StoreLocationError> {
        guard let components = URLComponents(string: text) else {
            return .failure(StoreLocationError(reason: "not a valid PostgreSQL URL"))
        }
        guard let host = components.host, !host.isEmpty else {
            return .failure(StoreLocationError(reason: "PostgreSQL URL without a host"))
        }
        guard let username = components.user, !username.isEmpty else {
            return .failure(
                StoreLocationError(reason: "PostgreSQL URL without a user (each store has its own credentials)"))
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            return .failure(StoreLocationError(reason: "PostgreSQL URL without a database name"))
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            return .failure(StoreLocationError(reason: "PostgreSQL URL with a port outside 1…65535"))
        }
        // `tlsmode` is postgres-kit's name for libpq's `sslmode`; both are accepted.
        let allowedParameters: Set<String> = ["sslmode", "tlsmode", "application_name", "connect_timeout"]
        for item in components.queryItems ?? [] where !allowedParameters.contains(item.name) {
            return .failure(
                StoreLocationError(
                    reason:
                        "unsupported PostgreSQL URL parameter \(item.name) (allowed: \(allowedParameters.sorted().joined(separator: ", ")))"
                ))
        }
        let sslMode = components.queryItems?.last(where: { $0.name == "sslmode" || $0.name == "tlsmode" })?.value
        let sslModes: Set<String> = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
        if let sslMode, !sslModes.contains(sslMode) {
            return .failure(
                StoreLocationError(reason: "sslmode must be one of \(sslModes.sorted().joined(separator: ", "))"))
        }
        return .success(
            PostgresStoreURL(
                url: text, username: components.user?.removingPercentEncoding ?? username,
                password: components.password?.removingPercentEncoding, host: host, port: port,
                database: database.removingPercentEncoding ?? database, sslMode: sslMode))
    }

    package var description: String {
        let secret = password == nil ? "" : ":***"
        let query = sslMode.map { "?sslmode=\($0)" } ?? ""
        return "postgres://\(username)\(secret)@\(host):\(port)/\(database)\(query)"
    }
}
