/// One schema violation: where (JSON pointer into the instance), which keyword, and why.
///
/// The message never contains instance values (they may be personal data).
package struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// RFC 6901 pointer into the validated instance ("" is the root).
    package var pointer: String
    /// The failing schema keyword, e.g. `required`, `additionalProperties`.
    package var keyword: String
    /// A human-readable explanation built from the schema only.
    package var message: String

    /// A violation.
    package init(pointer: String, keyword: String, message: String) {
        self.pointer = pointer
        self.keyword = keyword
        self.message = message
    }

    package var description: String { "\(pointer.isEmpty ? "/" : pointer): \(keyword): \(message)" }
}
