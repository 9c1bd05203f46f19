package import ConsentContracts

/// A contract prepared for `decide`: the schema plus everything precomputed from its `x-*`
/// annotations (field tree, role and direction bits, subject and required paths).
package struct ContractPlan: Sendable {
    /// The contract as loaded.
    package let contract: MessageContract
    /// The field tree.
    package let root: FieldPlan
    /// Roles the consent must name.
    package let roles: RecipientRoles
    /// True when the contract names a role the policy does not know (never covered, fail closed).
    package let hasUnknownRole: Bool
    /// The direction bit the consent must hold; empty for directions that never cross.
    package let direction: ConsentDirections
    /// The plan of the subject field (so it does not count as content).
    package let subjectPlan: FieldPlan?
    /// Whether this is the referral (R7, R12 apply).
    package let isReferral: Bool

    /// Prepares `contract`.
    package init(_ contract: MessageContract) {
        self.contract = contract
        root = FieldPlan.tree(for: contract.fields)
        var roles: RecipientRoles = []
        var unknown = false
        for name in contract.recipientRoles {
            if let role = RecipientRoles(name: name) { roles.insert(role) } else { unknown = true }
        }
        self.roles = roles
        hasUnknownRole = unknown
        direction = ConsentDirections(contract.direction)
        var plan: FieldPlan? = root
        for token in contract.subjectPath { plan = plan?.children[token] }
        subjectPlan = contract.subjectPath.isEmpty ? nil : plan
        isReferral = contract.name == "referral"
    }
}

extension ContractPlan {
    /// `pointer` (a location in an input) as a schema path: each token the contract declares
    /// at that place is kept, array indices are kept, and anything else (a property the sender
    /// invented, which may be a name or a number) becomes `*`. What operators see of a
    /// violation is thus the contract's vocabulary, never the sender's.
    package func schemaPath(of pointer: String) -> String {
        guard pointer.hasPrefix("/") else { return pointer.isEmpty ? "" : "/*" }
        var plan: FieldPlan? = root
        var path = ""
        for token in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if let current = plan, let child = current.child(String(token)) {
                path += "/" + String(token)
                plan = child
            } else if let current = plan, let items = current.items, !token.isEmpty, token.allSatisfy(\.isASCIIDigit),
                token.count <= 6
            {
                path += "/" + String(token)
                plan = items
            } else {
                path += "/*"
                plan = nil
            }
        }
        return path
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
