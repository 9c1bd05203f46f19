/// A loaded message contract: the schema plus the bridge metadata from its `x-*` keywords.
package struct MessageContract: Sendable {
    /// File stem, e.g. `referral`.
    package var name: String
    /// CloudEvents type, e.g. `no.ips.health.referral.v1`.
    package var ceType: String
    /// Which way the message travels.
    package var direction: MessageDirection
    /// Topic the message is published on by its origin, e.g. `health.ips.outbound`.
    package var sourceTopic: String
    /// Topic the bridge forwards to, e.g. `nav.ips.inbound`; nil = never crosses.
    package var destinationTopic: String?
    /// Roles that may receive the message (`x-recipient-roles`).
    package var recipientRoles: [String]
    /// The property that names the person (`x-subject-field`), as path components.
    package var subjectPath: [String]
    /// Whether an anonymous form exists (`x-anonymous-form`).
    package var hasAnonymousForm: Bool
    /// Paths that must be present after filtering for the message to be forwarded.
    package var requiredForForwarding: [[String]]
    /// Every property at every depth.
    package var fields: [FieldRule]
    /// The compiled schema.
    package var schema: JSONSchema

    /// A contract with every attribute given.
    package init(
        name: String, ceType: String, direction: MessageDirection, sourceTopic: String,
        destinationTopic: String?, recipientRoles: [String], subjectPath: [String],
        hasAnonymousForm: Bool, requiredForForwarding: [[String]], fields: [FieldRule], schema: JSONSchema
    ) {
        self.name = name
        self.ceType = ceType
        self.direction = direction
        self.sourceTopic = sourceTopic
        self.destinationTopic = destinationTopic
        self.recipientRoles = recipientRoles
        self.subjectPath = subjectPath
        self.hasAnonymousForm = hasAnonymousForm
        self.requiredForForwarding = requiredForForwarding
        self.fields = fields
        self.schema = schema
    }

    /// The rule for `path`, if the contract declares that property.
    package func field(at path: [String]) -> FieldRule? {
        fields.first { $0.path == path }
    }
}
