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

    /// Two locations with equal identity are the same database, whatever the credentials (R9:
    /// two stores must never share one).
    ///
    /// SQLite: the absolute, symlink-resolved path (of the parent folder when the file does not
    /// exist yet). PostgreSQL: lower-cased host (`localhost` and `::1` as `127.0.0.1`), port and
    /// database name; user and password do not matter.
    package var identity: String {
        switch self {
        case .sqlite(let path):
            let absolute = URL(fileURLWithPath: path).standardizedFileURL
            let directory = absolute.deletingLastPathComponent().resolvingSymlinksInPath()
            let file = directory.appendingPathComponent(absolute.lastPathComponent).resolvingSymlinksInPath()
            return "sqlite:" + file.path
        case .postgres(let url):
            let host = url.host.lowercased()
            let normalizedHost = (host == "localhost" || host == "::1" || host == "[::1]") ? "127.0.0.1" : host
            return "postgres://\(normalizedHost):\(url.port)/\(url.database)"
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
