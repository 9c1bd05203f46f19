import Foundation

/// Where one store lives: a SQLite file (the embedded default) or a PostgreSQL database.
///
/// Parsed from configuration: `postgres://…`/`postgresql://…` URLs select PostgreSQL, a
/// `sqlite:` prefix or any other string is a SQLite file path. `description` never shows a
/// password.
package enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A SQLite database file.
    case sqlite(path: String)
    /// A PostgreSQL database, as a connection URL (may hold a password).
    case postgres(url: String)

    /// Parses a configured location string; throws `.invalidLocation` for an empty string or a
    /// URL with an unsupported scheme.
    package init(parsing text: String) throws(StorageError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw StorageError(.invalidLocation, "store location is empty")
        }
        let lower = trimmed.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
            || lower.hasPrefix("postgres+tcp://") || lower.hasPrefix("postgres+uds://")
            || lower.hasPrefix("postgresql+uds://")
        {
            guard let url = URL(string: trimmed), url.host != nil || lower.contains("+uds") else {
                throw StorageError(.invalidLocation, "PostgreSQL URL could not be parsed")
            }
            self = .postgres(url: trimmed)
        } else if lower.hasPrefix("sqlite:") {
            let path = String(trimmed.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StorageError(.invalidLocation, "sqlite: location without a path") }
            self = .sqlite(path: path)
        } else if lower.contains("://") {
            throw StorageError(.invalidLocation, "unsupported store URL scheme (use a file path or postgres://)")
        } else {
            self = .sqlite(path: trimmed)
        }
    }

    /// The engine this location uses.
    package var engine: SQLEngine {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// A normalized identity: two locations with the same identity are the same database.
    ///
    /// SQLite: the absolute, symlink-resolved path (of the parent folder when the file does not
    /// exist yet). PostgreSQL: lower-cased host, port (default 5432) and database name; the user
    /// and password do not matter (two roles on one database are still one database).
    package var databaseIdentity: String {
        switch self {
        case .sqlite(let path):
            let absolute = URL(fileURLWithPath: path).standardizedFileURL
            let directory = absolute.deletingLastPathComponent().resolvingSymlinksInPath()
            let file = directory.appendingPathComponent(absolute.lastPathComponent).resolvingSymlinksInPath()
            return "sqlite:" + file.path
        case .postgres(let text):
            guard let url = URL(string: text) else { return "postgres:" + text }
            let host = (url.host ?? "localhost").lowercased()
            let normalizedHost = (host == "localhost" || host == "::1") ? "127.0.0.1" : host
            let port = url.port ?? 5432
            var database = url.path
            if database.hasPrefix("/") { database.removeFirst() }
            if database.isEmpty { database = url.user ?? "" }
            return "postgres://\(normalizedHost):\(port)/\(database)"
        }
    }

    /// Operator-safe text: the path, or the URL without user info and query.
    package var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:" + path
        case .postgres: return self.databaseIdentity
        }
    }
}
