/// One finding about the contract files: which file, where in it (JSON pointer), what is wrong.
package struct ContractDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// How bad the finding is; any `.error` fails `contracts check`.
    package enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    package var severity: Severity
    /// Path relative to the contracts directory, e.g. `schemas/referral.schema.json`.
    package var file: String
    /// RFC 6901 pointer inside that file ("" = the whole file).
    package var pointer: String
    /// Explanation (contract text only, never example values).
    package var message: String

    /// A finding.
    package init(_ severity: Severity = .error, file: String, pointer: String, message: String) {
        self.severity = severity
        self.file = file
        self.pointer = pointer
        self.message = message
    }

    package var description: String {
        "\(severity.rawValue): \(file)#\(pointer): \(message)"
    }
}

/// Loading the contracts failed; every problem found is listed, not just the first.
package struct ContractLoadError: Error, Sendable, CustomStringConvertible {
    /// The errors (and warnings) collected while loading.
    package var diagnostics: [ContractDiagnostic]

    /// An error carrying `diagnostics`.
    package init(diagnostics: [ContractDiagnostic]) { self.diagnostics = diagnostics }

    package var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
