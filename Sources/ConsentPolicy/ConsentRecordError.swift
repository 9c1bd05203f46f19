/// Why a consent record could not be read. The view treats every such record as no consent.
///
/// `detail` names a property or parse code, never a value.
package struct ConsentRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason code.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code as text.
        package let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        /// The strict parser refused the bytes.
        package static let invalidJSON = Code("consent.invalid-json")
        /// The consent schema refused the value.
        package static let schemaViolation = Code("consent.schema-violation")
        /// A property had an unexpected shape or an unknown name.
        package static let malformed = Code("consent.malformed")
        /// The record's patient id differs from the Kafka key it came under.
        package static let keyMismatch = Code("consent.key-mismatch")
    }

    /// The reason.
    package var code: Code
    /// Which property or parse code (no values).
    package var detail: String

    /// An error.
    package init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { "\(code.rawValue) (\(detail))" }
}
