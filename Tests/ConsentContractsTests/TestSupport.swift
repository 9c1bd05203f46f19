import Foundation

/// Paths shared by the contract tests.
enum TestPaths {
    /// The repository root (three levels above this file).
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The real `Contracts/` directory.
    static var contracts: String { repositoryRoot + "/Contracts" }

    /// The fixture contracts of this test target.
    static var fixtures: String { repositoryRoot + "/Tests/ConsentContractsTests/Fixtures" }
}
