import Foundation

/// Where one store lives: a SQLite file (embedded default) or a PostgreSQL database.
///
/// `description` is redacted (no password); use `postgres.url` only to connect.
package enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresStoreURL)

    /// Parses `sqlite:PATH`, a plain path, or `postgres://` / `postgresql://` URL.
    /// Returns the reason (never containing the value) on failure.
    package static func parse(_ text: String) -> Result<StoreLocation, StoreLocationError> {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            return PostgresStoreURL.parse(text).map(StoreLocation.postgres)
        }
        var path = Substring(text)
        if path.hasPrefix("sqlite:") { path = path.dropFirst("sqlite:".count) }
        if path.hasPrefix("//") { path = path.dropFirst(2) }  // sqlite:///abs/path
        if text.contains("://") && !text.hasPrefix("sqlite:") {
            return .failure(StoreLocationError(reason: "unsupported scheme: use a SQLite path or a postgres:// URL"))
        }
        guard !path.isEmpty else { return .failure(StoreLocationError(reason: "empty SQLite path")) }
        return .success(.sqlite(path: String(path)))
    }

    /// Two locations with equal identity are the same database, whatever the credentials.
    package var identity: String {
        switch self {
        case .sqlite(let path):
            "sqlite:" + URL(fileURLWithPath: path).standardizedFileURL.path
        case .postgres(let url):
            "postgres://\(url.host.lowercased()):\(url.port)/\(url.database)"
        }
    }

    package var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): url.description
        }
    }
}

/// Why a store location is invalid; never contains the location itself.
package struct StoreLocationError: Error, Sendable, Hashable {
    /// Operator-safe reason.
    package var reason: String
}
