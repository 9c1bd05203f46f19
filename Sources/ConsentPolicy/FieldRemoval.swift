package import ConsentContracts

/// One field the policy left out of the output, and why. Paths and categories only, never values.
package struct FieldRemoval: Sendable, Hashable, CustomStringConvertible {
    /// Why a field was left out.
    package enum Cause: String, Sendable, Hashable {
        /// Its consent category is not in the patient's consent (R6).
        case categoryNotInConsent = "category-not-in-consent"
        /// The consent covers it, but the recipient's role never receives its category (R13:
        /// e.g. health information for the NAV veileder's case system).
        case notForRecipientRole = "not-for-recipient-role"
        /// It has no consent category, so consent can never cover it (R8).
        case notConsentGoverned = "not-consent-governed"
        /// NAV-internal documentation (R3).
        case navInternal = "nav-internal"
        /// The anonymous form never carries this classification (R2).
        case anonymousForm = "anonymous-form"
        /// A quasi-identifier whose value could not be generalized, so it was dropped.
        case notGeneralizable = "not-generalizable"
        /// Not declared in the contract (cannot happen after schema validation; fail closed).
        case undeclared
    }

    /// JSON pointer pattern in the contract, `[]` for array items, e.g. `/meeting/participants`.
    package var path: String
    /// The field's classification.
    package var classification: FieldClassification?
    /// The field's consent category, if any.
    package var consentCategory: String?
    /// Why it was removed.
    package var cause: Cause

    /// A removal.
    package init(path: String, classification: FieldClassification?, consentCategory: String?, cause: Cause) {
        self.path = path
        self.classification = classification
        self.consentCategory = consentCategory
        self.cause = cause
    }

    package var description: String {
        "\(path) [\(classification?.rawValue ?? "undeclared")\(consentCategory.map { ", \($0)" } ?? "")]: \(cause.rawValue)"
    }
}
