/// A set of consent categories (`x-consent-category` values), stored as bits so the per-field
/// check in `decide` is one AND.
///
/// A category name the policy does not know maps to no bit, so a field carrying it is never
/// in scope (fail closed).
package struct ConsentCategories: OptionSet, Sendable, Hashable, Codable {
    package var rawValue: UInt8

    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Name, phone, fødselsnummer, birth date, municipality.
    package static let identityAndContact = ConsentCategories(rawValue: 1 << 0)
    /// That the person is (to be) an IPS participant, referral details, participation changes.
    package static let ipsParticipation = ConsentCategories(rawValue: 1 << 1)
    /// Functional ability and accommodations relevant for work.
    package static let workRelevantHealth = ConsentCategories(rawValue: 1 << 2)
    /// Appointments and meetings with the treatment team.
    package static let treatmentCoordination = ConsentCategories(rawValue: 1 << 3)
    /// Job search, job started, job ended (NAV → health).
    package static let workStatus = ConsentCategories(rawValue: 1 << 4)

    /// Every category.
    package static let all: ConsentCategories = [
        .identityAndContact, .ipsParticipation, .workRelevantHealth, .treatmentCoordination, .workStatus,
    ]

    /// Every category name with its bit, in the order the contracts document them.
    package static let named: [(name: String, category: ConsentCategories)] = [
        ("identity-and-contact", .identityAndContact),
        ("ips-participation", .ipsParticipation),
        ("work-relevant-health", .workRelevantHealth),
        ("treatment-coordination", .treatmentCoordination),
        ("work-status", .workStatus),
    ]

    /// The bit for `name`, or nil for a name the policy does not know. Any string type: the
    /// relay reads names out of a comma-separated header without copying each.
    package init?(name: some StringProtocol) {
        guard let match = Self.named.first(where: { $0.name == name }) else { return nil }
        self = match.category
    }

    /// The category names in this set, in documentation order.
    package var names: [String] {
        Self.named.filter { contains($0.category) }.map(\.name)
    }
}
