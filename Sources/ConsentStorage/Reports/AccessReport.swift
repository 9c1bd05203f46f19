import Foundation
import SQLKit

/// A person's access report from one side's own store (R11): what that side holds and shared
/// about the person, and under which consent; never read from the other side's store.
package struct AccessReport: Sendable, Hashable {
    /// One part of the report: a titled table.
    package struct Section: Sendable, Hashable {
        package var title: String
        package var columns: [String]
        package var rows: [[String]]
    }

    /// `health` or `nav`.
    package var side: String
    /// The controller answering for this part.
    package var controller: String
    /// The duty to inform: what this side shares, with whom, and where to ask about the rest.
    package var notice: String
    package var sections: [Section]

    /// Whether the store holds anything at all about the person.
    package var isEmpty: Bool { sections.allSatisfy(\.rows.isEmpty) }
}

extension HealthJournalStore {
    /// The health side's part (R11): consents (who gave them, what and to whom they allow),
    /// what was disclosed to NAV, what the consent bridge held back, anonymous case references,
    /// what NAV sent.
    ///
    /// Each section lists exactly what its title says: the journal's disclosure notices are
    /// split by status, and only `disclosed` is listed as disclosed to NAV (as NAV's report
    /// lists as shared only what crossed).
    package func accessReport(patientID: String) async throws(StorageError) -> AccessReport {
        try await database.read { sql in
            let consents = try await sql.raw(
                """
                SELECT version, status, recorded_at, received_at, document FROM consent_history
                WHERE patient_id = \(bind: patientID) ORDER BY received_at, ce_id
                """
            ).all().map { row -> [String] in
                let document = (try? row.decode(column: "document", as: Data?.self)).flatMap { $0 }
                let object = document.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
                func list(_ key: String) -> String { (object[key] as? [String])?.joined(separator: " ") ?? "" }
                return [
                    (try? row.decode(column: "version", as: Int64?.self)).flatMap { $0 }.map(String.init) ?? "",
                    try row.decode(column: "status", as: String.self),
                    (try? row.decode(column: "recorded_at", as: String?.self)).flatMap { $0 } ?? "",
                    (object["givenBy"] as? String) ?? "not stated",
                    list("categories"), list("recipientRoles"), list("directions"),
                ]
            }
            let disclosures = try await DisclosureLogRow.rows(sql, subjectID: patientID).map {
                (status: $0.status, columns: $0.columns + [$0.consentVersion], reason: $0.withheldReason)
            }
            // Disclosed: what the bridge says crossed (`disclosed`), nothing else. A notice the
            // relay marked `withheld` (the consent changed between decision and publication, R5,
            // or the recipient's cluster refused the copy) is listed apart, as held back, with
            // why: the patient is owed it (R4: the journal records withholdings too), but it never
            // reached NAV, so it is never under "disclosed to NAV". Before this both were listed
            // there, told apart only by a status column (found by an outside audit).
            let disclosed = disclosures.filter { $0.status == "disclosed" }.map { $0.columns + [$0.status] }
            let heldBack = disclosures.filter { $0.status != "disclosed" }.map { $0.columns + [$0.status, $0.reason] }
            let references = try await sql.raw(
                """
                SELECT case_reference, created_at FROM case_references WHERE patient_id = \(bind: patientID) ORDER BY created_at
                """
            ).all().map {
                [
                    try $0.decode(column: "case_reference", as: String.self),
                    try $0.decode(column: "created_at", as: String.self),
                ]
            }
            let received = try await sql.raw(
                """
                SELECT ce_type, received_at, status FROM events_from_nav WHERE subject_key = \(bind: patientID) ORDER BY received_at, ce_id
                """
            ).all().map {
                [
                    try $0.decode(column: "ce_type", as: String.self),
                    try $0.decode(column: "received_at", as: String.self),
                    try $0.decode(column: "status", as: String.self),
                ]
            }
            return AccessReport(
                side: "health", controller: "the health service (the patient journal's data controller)",
                notice:
                    "Shared with NAV only as the consents below allow: the categories, to the recipient roles and in the directions listed; without consent only in anonymous form. What NAV itself holds is answered by NAV (R11).",
                sections: [
                    .init(
                        title: "consents",
                        columns: [
                            "version", "status", "recorded", "given by", "categories", "recipients", "directions",
                        ], rows: consents),
                    .init(
                        title: "disclosed to NAV",
                        columns: [
                            "when", "type", "recipient role", "recipient", "categories", "form", "consent version",
                            "status",
                        ],
                        rows: disclosed),
                    .init(
                        title: "held back by the consent bridge, not disclosed",
                        columns: [
                            "when", "type", "recipient role", "recipient", "categories", "form", "consent version",
                            "status", "withheld because",
                        ],
                        rows: heldBack),
                    .init(
                        title: "anonymous case references", columns: ["case reference", "created"], rows: references),
                    .init(title: "received from NAV", columns: ["type", "received", "status"], rows: received),
                ])
        }
    }
}

extension NavSystemStore {
    /// NAV's part (R11), for the one NAV system this store belongs to (R9: the veileder's case
    /// system or the job specialist's follow-up solution): registration as participant, what the
    /// system received from health, what it sent for health and what of that was shared (or held
    /// back), and its own follow-up documentation (never shared, R3).
    ///
    /// Each section lists exactly what its title says. The sink files everything the system
    /// publishes on its own outbound topic in one table (`follow_up_documentation`), the events
    /// it sends the health service as well as its internal notes: the table is split by type
    /// (`NavSinkPolicy.neverSharedTypes`), never listed whole as "never shared". The bridge's
    /// disclosure notices are split by status: only `disclosed` is shared.
    package func accessReport(personID: String) async throws(StorageError) -> AccessReport {
        let neverSharedTypes = self.policy.neverSharedTypes
        return try await database.read { sql in
            let registered = try await sql.raw(
                "SELECT registered_at FROM participants WHERE participant_key = \(bind: personID)"
            )
            .all().map { [try $0.decode(column: "registered_at", as: String.self)] }
            func events(_ table: String) async throws -> [[String]] {
                try await sql.raw(
                    """
                    SELECT ce_type, received_at FROM \(unsafeRaw: table) WHERE subject_key = \(bind: personID) ORDER BY received_at, ce_id
                    """
                ).all().map {
                    [
                        try $0.decode(column: "ce_type", as: String.self),
                        try $0.decode(column: "received_at", as: String.self),
                    ]
                }
            }
            let received = try await events("events_from_health")
            // Only a type that cannot cross (R3) is documentation never shared; every other type
            // on the system's outbound topic went to the bridge for the health service, whether
            // or not the consent let it cross (what did is under "shared").
            let published = try await events("follow_up_documentation")
            let ownDocumentation = published.filter { neverSharedTypes.contains($0[0]) }
            let sent = published.filter { !neverSharedTypes.contains($0[0]) }
            let notices = try await DisclosureLogRow.rows(sql, subjectID: personID)
            // Shared: what the bridge says crossed (`disclosed`), nothing else.
            let shared = notices.filter { $0.status == "disclosed" }.map { $0.columns + [$0.status] }
            // A notice the relay marked `withheld` (consent changed between decision and
            // publication, R5) is listed apart, as held back, not dropped: the person is owed what
            // NAV holds about them (GDPR art. 15), and it tells them why an event under "sent" is
            // missing under "shared". A bridge that sends NAV no notice for a withheld copy (R15)
            // leaves that event under "sent" alone. Never under "shared": it did not reach the
            // health service. Status only: a withheld notice to NAV carries no categories, form or
            // reason beyond `not-delivered` (R15).
            let heldBack = notices.filter { $0.status != "disclosed" }.map {
                Array($0.columns.prefix(4)) + [$0.status]
            }
            let isFollowUp = self.policy.kind == .navFollowUp
            return AccessReport(
                side: isFollowUp ? "followup" : "nav",
                controller: isFollowUp
                    ? "NAV (the data controller), for the IPS job specialist's follow-up solution"
                    : "NAV (the data controller), for NAV's case system (the veileder's)",
                notice:
                    "NAV receives from the health service only what the person's consent allows, and shares with it only as that consent allows: of what NAV sent for the health service, only what is listed as shared reached it. NAV's own follow-up documentation stays with NAV. This report covers one NAV system; the other NAV system (case system or IPS follow-up solution) answers for its own part, and what the health service holds is answered by the health service (R11).",
                sections: [
                    .init(title: "registered as IPS participant", columns: ["registered"], rows: registered),
                    .init(title: "received from the health service", columns: ["type", "received"], rows: received),
                    .init(
                        title: "sent for the health service, through the consent bridge",
                        columns: ["type", "recorded"],
                        rows: sent),
                    .init(
                        title: "shared with the health service",
                        columns: ["when", "type", "recipient role", "recipient", "categories", "form", "status"],
                        rows: shared),
                    .init(
                        title: "held back by the consent bridge, not shared",
                        columns: ["when", "type", "recipient role", "recipient", "status"], rows: heldBack),
                    .init(
                        title: "NAV's own follow-up documentation (never shared)", columns: ["type", "recorded"],
                        rows: ownDocumentation),
                ])
        }
    }
}

/// One `disclosure_log` row as the access reports list it (both sides' logs have its columns).
private struct DisclosureLogRow {
    /// `disclosed` or `withheld` (rows from before the column: `disclosed`).
    let status: String
    /// Disclosed at, type, recipient role, recipient, categories, form.
    let columns: [String]
    /// The consent's version ("" when none: anonymous, or NAV's as-consented notices).
    let consentVersion: String
    /// Why the bridge held it back ("" when disclosed).
    let withheldReason: String

    /// `subjectID`'s rows, oldest first.
    static func rows(_ sql: any SQLDatabase, subjectID: String) async throws -> [DisclosureLogRow] {
        try await sql.raw(
            """
            SELECT disclosed_at, ce_type, recipient_role, recipient_organisation, categories, form, consent_version,
                   status, withheld_reason
            FROM disclosure_log WHERE subject_id = \(bind: subjectID) ORDER BY disclosed_at, disclosure_id
            """
        ).all().map { row in
            DisclosureLogRow(
                status: try row.decode(column: "status", as: String?.self) ?? "disclosed",
                columns: [
                    try row.decode(column: "disclosed_at", as: String.self),
                    try row.decode(column: "ce_type", as: String.self),
                    try row.decode(column: "recipient_role", as: String.self),
                    try row.decode(column: "recipient_organisation", as: String.self),
                    try StoreSQL.decodeList(try row.decode(column: "categories", as: String.self)).joined(
                        separator: " "),
                    try row.decode(column: "form", as: String.self),
                ],
                consentVersion: (try row.decode(column: "consent_version", as: Int64?.self)).map(String.init) ?? "",
                withheldReason: try row.decode(column: "withheld_reason", as: String?.self) ?? "")
        }
    }
}
