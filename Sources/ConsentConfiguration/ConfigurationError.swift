/// Why a configuration could not be loaded: every problem found, each naming its key.
///
/// Descriptions name keys, sources and accepted forms, never a value: a value may be a
/// password, a sealing key or a database URL with credentials in it.
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One problem with one key (or one line of the file).
    package struct Issue: Sendable, Hashable, CustomStringConvertible {
        /// What kind of problem; extensible so callers can match without parsing text.
        package struct Code: Sendable, Hashable, CustomStringConvertible {
            /// Stable machine-readable name, e.g. `unknown-key`.
            package var name: String
            package var description: String { name }
            /// A key, option or variable the bridge does not know.
            package static let unknownKey = Code(name: "unknown-key")
            /// The same key twice in one layer.
            package static let duplicateKey = Code(name: "duplicate-key")
            /// A file line or argument that is not `key = value` / `--key value`.
            package static let syntax = Code(name: "syntax")
            /// A required key without a value.
            package static let missingValue = Code(name: "missing-value")
            /// A value of the wrong form or out of range.
            package static let invalidValue = Code(name: "invalid-value")
            /// Keys whose values contradict each other.
            package static let conflict = Code(name: "conflict")
            /// A configuration or secret file that cannot be read.
            package static let unreadableFile = Code(name: "unreadable-file")
            /// A key naming a file or directory that does not exist (`config check` only).
            package static let missingFile = Code(name: "missing-file")
        }

        /// The kind of problem.
        package var code: Code
        /// The dotted key (or the option / variable as written when it is unknown).
        package var key: String
        /// Operator-safe explanation; never contains the value.
        package var message: String
        /// Where the offending value came from, if one key's value is at fault.
        package var source: ConfigurationSource?

        /// An issue; `message` must not contain the offending value.
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

    /// An error with every issue found.
    package init(issues: [Issue]) { self.issues = issues }

    /// The dotted keys (or unknown names) named by the issues.
    package var keys: [String] { issues.map(\.key) }

    package var description: String {
        "invalid configuration:\n" + issues.map { "  - \($0)" }.joined(separator: "\n")
    }
}
