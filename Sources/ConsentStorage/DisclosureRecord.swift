import Foundation

/// One disclosure: what was made available about a person, to whom, under which consent (R4).
///
/// Written by the bridge in its decision transaction, published on `health.disclosures` /
/// `nav.disclosures` as this record's JSON (`jsonBytes()`), and kept append-only by every
/// store that holds it (DOMAIN.md R4; issue 4 item 6).
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
    /// Recipient role, e.g. `ips-job-specialist`.
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
        case disclosureID = "disclosureId", eventID = "eventId", ceType, direction, subjectID = "subjectId"
        case recipientRole, recipientOrganisation, categories, form, consentID = "consentId", consentVersion
        case purpose, caseReference, disclosedAt, bridgeVersion
    }

    /// The `ce_type` of disclosure messages on the disclosure topics.
    package static let ceType = "no.ips.bridge.disclosure.v1"

    /// The message body published on the disclosure topics (sorted keys, ISO 8601 UTC time).
    package func jsonBytes() throws(StorageError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(StoreTime.string(from: date))
        }
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw StorageError(.invalidBatch, "disclosure record could not be encoded", cause: error)
        }
    }

    /// Parses a disclosure message body; throws `.invalidBatch` without quoting the input.
    package static func decode(jsonBytes: [UInt8]) throws(StorageError) -> DisclosureRecord {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = StoreTime.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time")
            }
            return date
        }
        do {
            let record = try decoder.decode(DisclosureRecord.self, from: Data(jsonBytes))
            guard record.isComplete else {
                throw StorageError(.invalidBatch, "disclosure record has an empty required field")
            }
            return record
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.invalidBatch, "disclosure message is not a valid disclosure record", cause: error)
        }
    }

    /// Whether every required text field is non-empty and an identified disclosure names its consent.
    package var isComplete: Bool {
        let required = [disclosureID, eventID, ceType, direction, subjectID, recipientRole, recipientOrganisation, form, purpose, bridgeVersion]
        guard required.allSatisfy({ !$0.isEmpty }) else { return false }
        if form == "identified" { return consentID != nil && consentVersion != nil }
        return true
    }
}
