package import ConsentContracts

/// A contract prepared for `decide`: the schema plus everything precomputed from its `x-*`
/// annotations (field tree, role and direction bits, subject and required paths). A class:
/// it is looked up for every event, and copying the struct it was retained every field.
package final class ContractPlan: Sendable {
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
    /// One copy per recipient role the contract forwards to, in the contract's order (R9: each
    /// role's own system). Empty for a contract that never crosses.
    package let copies: [CopyPlan]

    /// Where and what one role's copy of an event may carry.
    package struct CopyPlan: Sendable {
        /// The role (one bit) the consent must name for this copy.
        package let role: RecipientRoles
        /// Its name (`ips-job-specialist`, `nav-veileder`).
        package let roleName: String
        /// The topic of the role's system (health→NAV), or the journal's (NAV→health).
        package let destinationTopic: String
        /// The categories a copy for this role may carry at all (R13): the role's table in
        /// `ContractVocabulary.navSystems` for health→NAV; every category for NAV→health (the
        /// journal is the recipient, the role is the sender).
        package let receivable: ConsentCategories
    }

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
        copies = contract.destinations.compactMap { destination in
            guard let role = RecipientRoles(name: destination.role) else { return nil }
            var receivable = ConsentCategories.all
            if contract.direction == .healthToNav {
                let names = ContractVocabulary.navSystem(ofRole: destination.role)?.receivableCategories ?? []
                receivable = ConsentCategories(names.compactMap(ConsentCategories.init(name:)))
            }
            return CopyPlan(
                role: role, roleName: destination.role, destinationTopic: destination.topic, receivable: receivable)
        }
    }

    /// The copy that goes to `topic` (each role's system has its own topic), if any.
    package func copy(publishedOn topic: String) -> CopyPlan? { copies.first { $0.destinationTopic == topic } }
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
