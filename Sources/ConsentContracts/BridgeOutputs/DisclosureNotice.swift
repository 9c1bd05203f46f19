/// A disclosure notice: what the bridge disclosed (or withheld) across the boundary, to whom,
/// under which consent (R4). Published on `health.disclosures` / `nav.disclosures` to the side
/// the information came from; its journal or case store records it.
///
/// This type *is* the wire shape of `Contracts/schemas/disclosure.schema.json`: the bridge
/// encodes with `serializedBytes` (`BridgeOutputMembers`), the sinks decode with
/// `init(json:)`, so the two cannot drift apart
/// (they once did, and the journal refused every notice). Lists field pointers, never content.
package struct DisclosureNotice: Sendable, Hashable, BridgeOutputMembers {
    /// `form`: the identified form under consent, or the anonymous form (R2); on notices to the
    /// NAV side, neither (`asConsented`: which one crossed tells NAV about the EPJ consent, R15).
    package enum Form: String, Sendable, Hashable {
        case full
        case anonymous
        case asConsented = "as-consented"
    }

    /// `status`: published, or stopped by the relay because consent changed first (R5).
    package enum Status: String, Sendable, Hashable {
        case disclosed
        case withheld
    }

    /// `ce_type` of disclosure notices.
    package static let ceType = "no.ips.bridge.disclosure.v1"
    /// The only purpose a disclosure serves.
    package static let ipsPurpose = "ips-follow-up"

    /// Unique id of the disclosure; also the `ce_id` of the copy that crossed.
    package var disclosureID: String
    /// `ce_id` of the sender's event (the notice goes back to the sender's side only).
    package var messageID: String
    /// `ce_type` of what crossed (an anonymous form's own type for the anonymous form).
    package var ceType: String
    /// `health-to-nav` or `nav-to-health`.
    package var direction: String
    /// The person the information is about (fødselsnummer or D-number).
    package var subjectID: String
    /// The consent relied on; absent on NAV's side (R15: the EPJ consent is health information).
    package var consentID: String?
    /// Its version.
    package var consentVersion: Int64?
    /// Who received it: the NAV role whose system the copy went to (e.g. `ips-job-specialist`),
    /// or `treatment-team` for what NAV sent to the journal.
    package var recipientRoles: [String]
    /// Consent categories whose fields crossed.
    package var categories: [String]
    /// Full or anonymous.
    package var form: Form
    /// The reference that stood for the person in the anonymous form (for the sender's mapping).
    package var caseReference: String?
    /// Pointers of the fields that crossed (or would have, when withheld).
    package var disclosedFields: [String]
    /// Disclosed or withheld.
    package var status: Status
    /// Why the relay withheld it (a reason code), when withheld.
    package var withheldReason: String?
    /// When the bridge decided (RFC 3339).
    package var decidedAt: String
    /// Where the copy went.
    package var destinationTopic: String
    /// Digest of the contract set the decision used.
    package var contractVersion: String

    /// This notice as the NAV side may read it about what NAV sent (`sentType`): that it crossed,
    /// to whom, where and when, but not in which form, which categories or which fields, nor
    /// the case reference of an anonymous form, nor the consent: every one of those differs
    /// with the person's EPJ consent, which is health information (R15). A consented and an
    /// unconsented person's notices differ only in ids and times.
    package func toldToNAV(sentType: String) -> DisclosureNotice {
        var told = self
        told.ceType = sentType
        told.consentID = nil
        told.consentVersion = nil
        told.categories = []
        told.form = .asConsented
        told.caseReference = nil
        told.disclosedFields = []
        return told
    }

    /// A notice with every field given.
    package init(
        disclosureID: String, messageID: String, ceType: String, direction: String, subjectID: String,
        consentID: String?,
        consentVersion: Int64?, recipientRoles: [String], categories: [String], form: Form, caseReference: String?,
        disclosedFields: [String], status: Status, withheldReason: String? = nil, decidedAt: String,
        destinationTopic: String,
        contractVersion: String
    ) {
        self.disclosureID = disclosureID
        self.messageID = messageID
        self.ceType = ceType
        self.direction = direction
        self.subjectID = subjectID
        self.consentID = consentID
        self.consentVersion = consentVersion
        self.recipientRoles = recipientRoles
        self.categories = categories
        self.form = form
        self.caseReference = caseReference
        self.disclosedFields = disclosedFields
        self.status = status
        self.withheldReason = withheldReason
        self.decidedAt = decidedAt
        self.destinationTopic = destinationTopic
        self.contractVersion = contractVersion
    }

    package static let memberKeys = [
        "disclosureId", "messageId", "ceType", "direction", "subjectId", "consentId", "consentVersion",
        "recipientRoles", "purpose", "categories", "form", "caseReference", "disclosedFields", "status",
        "withheldReason", "decidedAt", "destinationTopic", "contractVersion",
    ]
    package static let memberKeyPrefixes = keyPrefixes(memberKeys)

    /// The members as published, in a fixed order (byte-identical for equal notices).
    package func forEachMember(_ visit: (Int, BridgeOutputMember) -> Void) {
        visit(0, .string(disclosureID))
        visit(1, .string(messageID))
        visit(2, .string(ceType))
        visit(3, .string(direction))
        visit(4, .string(subjectID))
        if let consentID { visit(5, .string(consentID)) }
        if let consentVersion { visit(6, .integer(consentVersion)) }
        visit(7, .strings(recipientRoles))
        visit(8, .string(Self.ipsPurpose))
        visit(9, .strings(categories))
        visit(10, .string(form.rawValue))
        if let caseReference { visit(11, .string(caseReference)) }
        visit(12, .strings(disclosedFields))
        visit(13, .string(status.rawValue))
        if let withheldReason { visit(14, .string(withheldReason)) }
        visit(15, .string(decidedAt))
        visit(16, .string(destinationTopic))
        visit(17, .string(contractVersion))
    }

    /// Reads a notice from its JSON (after the caller validated it against the contract, or
    /// not: every member's type is checked again and an unknown member refuses the whole).
    package init(json: JSONValue) throws(BridgeOutputDecodingError) {
        var reader = try BridgeOutputReader(json)
        disclosureID = try reader.string("disclosureId")
        messageID = try reader.string("messageId")
        ceType = try reader.string("ceType")
        direction = try reader.string("direction")
        subjectID = try reader.string("subjectId")
        consentID = try reader.optionalString("consentId")
        consentVersion = try reader.optionalInteger("consentVersion")
        recipientRoles = try reader.strings("recipientRoles")
        guard try reader.string("purpose") == Self.ipsPurpose else {
            throw BridgeOutputDecodingError(member: "purpose")
        }
        categories = try reader.strings("categories")
        guard let form = Form(rawValue: try reader.string("form")) else {
            throw BridgeOutputDecodingError(member: "form")
        }
        self.form = form
        caseReference = try reader.optionalString("caseReference")
        disclosedFields = try reader.strings("disclosedFields")
        guard let status = Status(rawValue: try reader.string("status")) else {
            throw BridgeOutputDecodingError(member: "status")
        }
        self.status = status
        withheldReason = try reader.optionalString("withheldReason")
        decidedAt = try reader.string("decidedAt")
        destinationTopic = try reader.string("destinationTopic")
        contractVersion = try reader.string("contractVersion")
        try reader.finish()
    }

    /// This notice as the relay publishes it after withholding the disclosure (R5).
    package func withheld(reason: String) -> DisclosureNotice {
        var copy = self
        copy.status = .withheld
        copy.withheldReason = reason
        return copy
    }
}
