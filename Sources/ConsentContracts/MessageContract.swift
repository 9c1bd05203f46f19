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
    /// Where the bridge forwards a copy, one per recipient role (`x-destinations` for
    /// health→NAV: each role's own system; `x-destination-topic` for NAV→health: the journal,
    /// under the one sending role). Empty = never crosses.
    package var destinations: [ContractDestination]
    /// The NAV-side roles the message involves (`x-recipient-roles`): who may receive a
    /// health→NAV message, or who sends a NAV→health one.
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
        destinations: [ContractDestination], recipientRoles: [String], subjectPath: [String],
        hasAnonymousForm: Bool, requiredForForwarding: [[String]], fields: [FieldRule], schema: JSONSchema
    ) {
        self.name = name
        self.ceType = ceType
        self.direction = direction
        self.sourceTopic = sourceTopic
        self.destinations = destinations
        self.recipientRoles = recipientRoles
        self.subjectPath = subjectPath
        self.hasAnonymousForm = hasAnonymousForm
        self.requiredForForwarding = requiredForForwarding
        self.fields = fields
        self.schema = schema
    }

    /// Every topic a copy of the message may be forwarded to.
    package var destinationTopics: [String] { destinations.map(\.topic) }

    /// The rule for `path`, if the contract declares that property.
    package func field(at path: [String]) -> FieldRule? {
        fields.first { $0.path == path }
    }
}

/// Where the bridge forwards the copy of a message for one NAV-side role.
package struct ContractDestination: Sendable, Hashable {
    /// The role (`ips-job-specialist`, `nav-veileder`).
    package var role: String
    /// The topic the copy is published on.
    package var topic: String

    /// A destination.
    package init(role: String, topic: String) {
        self.role = role
        self.topic = topic
    }
}
