package import ConsentConfiguration
import Foundation

/// The storage side of the one store-location type (`ConsentConfiguration.StoreLocation`): the
/// configuration parses and checks locations, the stores open them.
extension StoreLocation {
    /// The engine this location uses.
    package var engine: SQLEngine {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// A location from its configured text (a SQLite path or a `postgres://` URL), for tools and
    /// tests that take one directly; the error never contains the text.
    package init(parsing text: String) throws(StorageError) {
        switch StoreLocation.parse(text.trimmingCharacters(in: .whitespaces)) {
        case .success(let location): self = location
        case .failure(let error): throw StorageError(.invalidLocation, error.reason)
        }
    }
}
