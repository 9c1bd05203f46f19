/// The NAV-side roles a consent names (`recipientRoles`) or a contract involves
/// (`x-recipient-roles`), as bits.
package struct RecipientRoles: OptionSet, Sendable, Hashable, Codable {
    package var rawValue: UInt8

    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The NAV-employed IPS job specialist (not health personnel, R13).
    package static let ipsJobSpecialist = RecipientRoles(rawValue: 1 << 0)
    /// The NAV veileder (case worker).
    package static let navVeileder = RecipientRoles(rawValue: 1 << 1)

    /// Every role name with its bit.
    package static let named: [(name: String, role: RecipientRoles)] = [
        ("ips-job-specialist", .ipsJobSpecialist),
        ("nav-veileder", .navVeileder),
    ]

    /// The bit for `name`, or nil for a role the policy does not know.
    package init?(name: String) {
        guard let match = Self.named.first(where: { $0.name == name }) else { return nil }
        self = match.role
    }

    /// The role names in this set.
    package var names: [String] { Self.named.filter { contains($0.role) }.map(\.name) }
}
