/// Why a configuration could not be loaded: every problem found, each naming its key.
///
/// Descriptions name keys, sources and accepted forms, never a value: a value may be a
/// password, a sealing key or a database URL with credentials in it.
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One problem with one key (or one line of the file).
    package struct Issue: Sendable, Hashable, CustomStringConvertible {
        /// What kind of problem; extensible so callers can match without parsing text.
        package struct Code: Sendable, Hashable, CustomStringConvertible {
            package var name: String
            package var description: String { name }
            package static let unknownKey = Code(name: "unknown-key")
            package static let duplicateKey = Code(name: "duplicate-key")
            package static let syntax = Code(name: "syntax")
            package static let missingValue = Code(name: "missing-value")
            package static let invalidValue = Code(name: "invalid-value")
            package static let conflict = Code(name: "conflict")
            package static let unreadableFile = Code(name: "unreadable-file")
        }

        package var code: Code
        /// The dotted key (or the option / variable as written when it is unknown).
        package var key: String
        /// Operator-safe explanation; never contains the value.
        package var message: String
        /// Where the offending value came from, if one key's value is at fault.
        package var source: ConfigurationSource?

        package init(_ code: Code, key: String, _ message: String, source: ConfigurationSource? = nil) {
            self.code = code
            self.key = key
            self.message = message
            self.source = source
        }

        package var description: String {
            let origin = source.map { " (from \($0))" } ?? ""
            return "\(key): \(message)\(origin)"
        }
    }

    /// Every problem found, in key order (at least one).
    package var issues: [Issue]

    package init(issues: [Issue]) { self.issues = issues }

    /// The dotted keys (or unknown names) named by the issues.
    package var keys: [String] { issues.map(\.key) }

    package var description: String {
        "invalid configuration:\n" + issues.map { "  - \($0)" }.joined(separator: "\n")
    }
}
