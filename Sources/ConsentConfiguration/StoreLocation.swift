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
        if let problem = plainPathProblem(path) { return .failure(StoreLocationError(reason: problem)) }
        return .success(.sqlite(path: String(path)))
    }

    /// Why `path` is not plainly a file path but looks like a mistyped URL (`postgres:/u:pw@h/db`,
    /// `postgres//u:pw@h/db`), or nil when it is one. Such a "path" may hold a database
    /// password: it is refused rather than opened as a SQLite file (and never shown). The
    /// reason never contains the path.
    ///
    /// Refused: a scheme-like first component (`name:` before the first `/`), `@` anywhere
    /// (credentials), `//` inside the path, and control characters.
    package static func plainPathProblem(_ path: some StringProtocol, what: String = "SQLite path") -> String? {
        let firstComponent = path.prefix { $0 != "/" }
        if firstComponent.contains(":") {
            return
                "looks like a URL (a scheme before `:`), not a \(what): a PostgreSQL store is a postgres:// URL (write ./NAME for a file whose name holds a colon)"
        }
        if path.contains("@") {
            return
                "looks like a URL with credentials (`@`), not a \(what): a PostgreSQL store is a postgres:// URL"
        }
        if path.contains("//") {
            return "looks like a mistyped URL (`//` inside it), not a \(what)"
        }
        if path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "a \(what) must not contain control characters"
        }
        return nil
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
        // Belt and braces: a path that is not plainly one (it could hold a password) is not shown.
        case .sqlite(let path): Self.plainPathProblem(path) == nil ? "sqlite:\(path)" : "sqlite:<redacted>"
        case .postgres(let url): url.description
        }
    }
}

/// Why a store location is invalid; never contains the location itself.
package struct StoreLocationError: Error, Sendable, Hashable {
    /// Operator-safe reason.
    package var reason: String
}
