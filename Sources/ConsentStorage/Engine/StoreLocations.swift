import Foundation

/// The three stores' locations, configured separately and never the same database (R9).
package struct StoreLocations: Sendable, Hashable {
    /// The bridge's own store.
    package var bridge: StoreLocation
    /// The health journal store.
    package var healthJournal: StoreLocation
    /// The NAV case store.
    package var navCase: StoreLocation

    /// Creates a set of locations.
    package init(bridge: StoreLocation, healthJournal: StoreLocation, navCase: StoreLocation) {
        self.bridge = bridge
        self.healthJournal = healthJournal
        self.navCase = navCase
    }

    /// The embedded default: one SQLite file per store in `dataDirectory`.
    package static func sqlite(dataDirectory: String) -> StoreLocations {
        let folder = URL(fileURLWithPath: dataDirectory)
        return StoreLocations(
            bridge: .sqlite(path: folder.appendingPathComponent("bridge.sqlite").path),
            healthJournal: .sqlite(path: folder.appendingPathComponent("health.sqlite").path),
            navCase: .sqlite(path: folder.appendingPathComponent("nav.sqlite").path)
        )
    }

    /// Throws `.sameDatabase` if two stores resolve to the same file or PostgreSQL database.
    package func validateDistinct() throws(StorageError) {
        let named: [(StoreKind, StoreLocation)] = [
            (.bridge, bridge), (.healthJournal, healthJournal), (.navCase, navCase),
        ]
        for (index, first) in named.enumerated() {
            for second in named[(index + 1)...] where first.1.databaseIdentity == second.1.databaseIdentity {
                throw StorageError(
                    .sameDatabase,
                    "the \(first.0) store and the \(second.0) store are configured to use the same database (\(first.1)); each side needs its own"
                )
            }
        }
    }
}
