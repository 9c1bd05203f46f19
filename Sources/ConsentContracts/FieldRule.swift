/// One leaf or object property of a contract, flattened.
///
/// `path` uses property names; the element `"[]"` stands for "every item of an array".
package struct FieldRule: Sendable, Hashable {
    /// Property names from the body root; `"[]"` for array items.
    package var path: [String]
    /// The property's `x-classification`.
    package var classification: FieldClassification
    /// `x-consent-category`, when consent governs the property.
    package var consentCategory: String?
    /// `x-anonymize`: `age-band-10y`, `county`, `month`, or nil.
    package var generalization: String?
    /// True for containers (objects, arrays of objects); their children carry their own rules.
    package var isObject: Bool
    /// True when the schema puts no `enum`, `const`, `pattern` or `format` on the property: a
    /// string there can hold whatever a person types, whatever its classification says (R16).
    package var acceptsAnyText: Bool

    /// A rule with every attribute given.
    package init(
        path: [String], classification: FieldClassification, consentCategory: String? = nil,
        generalization: String? = nil, isObject: Bool = false, acceptsAnyText: Bool = true
    ) {
        self.path = path
        self.classification = classification
        self.consentCategory = consentCategory
        self.generalization = generalization
        self.isObject = isObject
        self.acceptsAnyText = acceptsAnyText
    }
}
