/// The outcome of `ContractLinter.lint`: every diagnostic plus what was checked.
package struct ContractLintReport: Sendable {
    /// All findings, in the order found.
    package var diagnostics: [ContractDiagnostic] = []
    /// Number of schema files loaded.
    package var schemaCount = 0
    /// Number of example files checked (valid and invalid).
    package var exampleCount = 0
    /// Number of AsyncAPI channels checked.
    package var channelCount = 0
    /// The catalog digest, when the schemas loaded.
    package var catalogVersion: String?

    /// A report with no findings yet.
    package init() {}

    /// Number of `.error` diagnostics.
    package var errorCount: Int { diagnostics.filter { $0.severity == .error }.count }

    /// True when nothing failed (warnings allowed).
    package var isPassing: Bool { errorCount == 0 }

    /// One line for a passing run.
    package var summary: String {
        "contracts OK: \(schemaCount) schemas, \(exampleCount) examples, \(channelCount) channels, "
            + "\(diagnostics.count - errorCount) warnings, version \(catalogVersion ?? "-")"
    }
}
