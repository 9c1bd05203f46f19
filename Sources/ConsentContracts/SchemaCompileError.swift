/// A schema that cannot be compiled: where in the schema document (JSON pointer) and why.
package struct SchemaCompileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// RFC 6901 pointer into the schema document.
    package var pointer: String
    /// What is wrong (schema text only).
    package var message: String

    /// An error at `pointer`.
    package init(pointer: String, message: String) {
        self.pointer = pointer
        self.message = message
    }

    package var description: String { "\(pointer.isEmpty ? "/" : pointer): \(message)" }
}
