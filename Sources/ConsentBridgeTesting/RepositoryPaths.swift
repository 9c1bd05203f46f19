package import Foundation

/// Paths inside this repository, for tests run from a checkout (`swift test`).
package enum RepositoryPaths {
    /// The repository's root (two levels above this file's folder).
    package static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The published contracts: `Contracts/` (schemas, examples, asyncapi.yaml, registry).
    package static let contractsDirectory = root.appendingPathComponent("Contracts").path
}
