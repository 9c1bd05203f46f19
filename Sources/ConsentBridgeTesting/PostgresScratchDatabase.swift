import ConsentConfiguration
package import ConsentStorage
import Foundation
package import Logging
import SQLKit

/// Throwaway PostgreSQL databases for tests and benchmarks, created beside a base database.
///
/// Needs a role with CREATEDB (scripts/with-postgres.sh creates one). Each test suite gets its
/// own empty database, so suites never see each other's rows and can run in parallel.
package enum PostgresScratchDatabase {
    /// Creates an empty database on the server `baseURL` points to; returns its URL.
    package static func create(baseURL: String, prefix: String, logger: Logger) async throws(StorageError) -> String {
        guard var components = URLComponents(string: baseURL) else {
            throw StorageError(.invalidLocation, "PostgreSQL URL could not be parsed")
        }
        let suffix = (0..<12).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement() ?? "x") }
            .joined()
        let cleanPrefix = prefix.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" }
        let name = "\(cleanPrefix.isEmpty ? "scratch" : cleanPrefix)_\(suffix)"
        let admin = try await StoreDatabase.open(try StoreLocation(parsing: baseURL), logger: logger)
        do {
            // CREATE DATABASE cannot run inside a transaction; the name is generated above (no input).
            try await admin.read { sql in try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        components.path = "/" + name
        guard let url = components.string else {
            throw StorageError(.invalidLocation, "could not build the scratch database URL")
        }
        return url
    }

    /// Drops a database made by `create` (disconnecting any leftover sessions).
    package static func drop(url: String, baseURL: String, logger: Logger) async {
        guard let components = URLComponents(string: url) else { return }
        let name = String(components.path.drop(while: { $0 == "/" }))
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return }
        guard let location = try? StoreLocation(parsing: baseURL),
            let admin = try? await StoreDatabase.open(location, logger: logger)
        else { return }
        _ = try? await admin.read { sql in
            try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
        }
        await admin.close()
    }
}
