package import ConsentContracts
package import Foundation

/// One disclosure: what was made available about a person, to whom, under which consent (R4).
///
/// Written by the bridge in its decision transaction and kept append-only by every store that
/// holds it (docs/rules.md R4). What crosses Kafka is the published `DisclosureNotice`; the sinks
/// turn each notice into this record (`init?(notice:)`).
package struct DisclosureRecord: Sendable, Hashable, Codable {
    /// Unique id of this disclosure (stable across retries of the same decision).
    package var disclosureID: String
    /// The `ce_id` of the event whose content was disclosed.
    package var eventID: String
    /// The `ce_type` of that event.
    package var ceType: String
    /// `health-to-nav` or `nav-to-health`.
    package var direction: String
    /// The person the information is about (patient id / fødselsnummer, or participant id).
    package var subjectID: String
    /// Who received it: the NAV role whose system the copy went to (`ips-job-specialist`,
    /// `nav-veileder`), or `treatment-team` for what NAV sent to the journal.
    package var recipientRole: String
    /// Recipient organisation, e.g. a NAV office or health trust identifier.
    package var recipientOrganisation: String
    /// Consent categories whose data crossed, e.g. `work-relevant-health`.
    package var categories: [String]
    /// `identified` or `anonymous` (anonymous form, R2).
    package var form: String
    /// Consent that allowed it; nil only for anonymous-form disclosures.
    package var consentID: String?
    /// Version of that consent.
    package var consentVersion: Int64?
    /// Purpose, e.g. `ips-follow-up`.
    package var purpose: String
    /// Anonymous case reference sent instead of the identity (anonymous form only).
    package var caseReference: String?
    /// When the bridge decided to disclose.
    package var disclosedAt: Date
    /// Version of the bridge (and contract catalog) that decided.
    package var bridgeVersion: String
    /// `disclosed`, or `withheld` when the relay stopped it because consent changed first (R5).
    package var status: String = "disclosed"
    /// Why it was withheld.
    package var withheldReason: String?

    /// Creates a record.
    package init(
        disclosureID: String, eventID: String, ceType: String, direction: String, subjectID: String,
        recipientRole: String, recipientOrganisation: String, categories: [String], form: String,
        consentID: String?, consentVersion: Int64?, purpose: String, caseReference: String? = nil,
        disclosedAt: Date, bridgeVersion: String
    ) {
        self.disclosureID = disclosureID
        self.eventID = eventID
        self.ceType = ceType
        self.direction = direction
        self.subjectID = subjectID
        self.recipientRole = recipientRole
        self.recipientOrganisation = recipientOrganisation
        self.categories = categories
        self.form = form
        self.consentID = consentID
        self.consentVersion = consentVersion
        self.purpose = purpose
        self.caseReference = caseReference
        self.disclosedAt = disclosedAt
        self.bridgeVersion = bridgeVersion
    }

    enum CodingKeys: String, CodingKey {
        case disclosureID = "disclosureId"
        case eventID = "eventId"
        case ceType, direction
        case subjectID = "subjectId"
        case recipientRole, recipientOrganisation, categories, form
        case consentID = "consentId"
        case consentVersion
        case purpose, caseReference, disclosedAt, bridgeVersion, status, withheldReason
    }

    /// The record a side's store keeps for a disclosure notice the bridge published (the one
    /// wire shape, `DisclosureNotice`). Nil when the notice is incomplete for its side.
    package init?(notice: DisclosureNotice) {
        guard let disclosedAt = StoreTime.date(from: notice.decidedAt) else { return nil }
        self.init(
            disclosureID: notice.disclosureID, eventID: notice.messageID, ceType: notice.ceType,
            direction: notice.direction,
            subjectID: notice.subjectID, recipientRole: notice.recipientRoles.joined(separator: ","),
            recipientOrganisation: notice.direction == "health-to-nav" ? "NAV" : "helsetjenesten",
            categories: notice.categories,
            form: Self.storedForm(notice.form), consentID: notice.consentID,
            consentVersion: notice.consentVersion,
            purpose: DisclosureNotice.ipsPurpose, caseReference: notice.caseReference, disclosedAt: disclosedAt,
            bridgeVersion: notice.contractVersion)
        status = notice.status.rawValue
        withheldReason = notice.withheldReason
        guard isComplete else { return nil }
    }

    /// The notice that announces this disclosure on the wire (what the bridge publishes for it;
    /// the sink crash probe and store tests send it).
    package var notice: DisclosureNotice {
        DisclosureNotice(
            disclosureID: disclosureID, messageID: eventID, ceType: ceType, direction: direction, subjectID: subjectID,
            consentID: consentID, consentVersion: consentVersion,
            recipientRoles: recipientRole.split(separator: ",").map(String.init), categories: categories,
            form: Self.noticeForm(form), caseReference: caseReference, disclosedFields: [],
            status: status == "withheld" ? .withheld : .disclosed, withheldReason: withheldReason,
            decidedAt: StoreTime.string(from: disclosedAt),
            destinationTopic: Self.destinationTopic(direction: direction, recipientRole: recipientRole),
            contractVersion: bridgeVersion)
    }

    /// A notice's form as the stores' `form` column spells it.
    static func storedForm(_ form: DisclosureNotice.Form) -> String {
        switch form {
        case .full: "identified"
        case .anonymous: "anonymous"
        case .asConsented: "as-consented"
        }
    }

    /// The notice form of a stored `form`.
    static func noticeForm(_ stored: String) -> DisclosureNotice.Form {
        switch stored {
        case "anonymous": .anonymous
        case "as-consented": .asConsented
        default: .full
        }
    }

    /// The system a copy went to, on the default topic names: a health→NAV copy to its role's
    /// own system (R9), a NAV→health copy to the journal.
    static func destinationTopic(direction: String, recipientRole: String) -> String {
        guard direction == MessageDirection.healthToNav.rawValue else { return ContractVocabulary.Topic.healthInbound }
        let role = recipientRole.split(separator: ",").first.map(String.init) ?? ""
        return ContractVocabulary.navSystem(ofRole: role)?.inboundTopic ?? ContractVocabulary.Topic.navInbound
    }

    /// Whether every required text field is non-empty and an identified disclosure from the
    /// health side names its consent (NAV's copies carry no EPJ consent id: R15).
    package var isComplete: Bool {
        let required = [
            disclosureID, eventID, ceType, direction, subjectID, recipientRole, recipientOrganisation, form, purpose,
            bridgeVersion,
        ]
        guard required.allSatisfy({ !$0.isEmpty }) else { return false }
        if form == "identified", direction == "health-to-nav" { return consentID != nil && consentVersion != nil }
        return true
    }
}
