/// A piece of personal data found inside free text, by kind and position (never the value).
package struct PersonalDataFinding: Sendable, Hashable {
    /// What was found.
    package enum Kind: String, Sendable, Hashable {
        case nationalIdentityNumber
        case phoneNumber
        case emailAddress
    }

    /// What was found.
    package var kind: Kind
    /// Where in the scanned text (whole identifier including spaces/prefix).
    package var range: Range<String.Index>

    /// A finding.
    package init(kind: Kind, range: Range<String.Index>) {
        self.kind = kind
        self.range = range
    }
}
