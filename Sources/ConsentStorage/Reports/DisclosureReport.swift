import Foundation

/// The patient disclosure report (R4, GDPR art. 15): everything the health journal recorded
/// as disclosed (or withheld at the last moment, R5) about one patient, rendered as a table,
/// JSON or CSV.
///
/// Rendering takes only the records of the one patient asked for; the query that feeds it
/// selects by patient id, so other patients' data cannot appear.
package enum DisclosureReport {
    /// Output formats.
    package enum Format: String, Sendable, CaseIterable {
        /// Aligned columns for a terminal.
        case table
        /// A JSON array of disclosure records.
        case json
        /// RFC 4180 CSV with a header row.
        case csv
    }

    /// What the report found for a patient id.
    package enum Lookup: Sendable, Hashable {
        /// The journal has disclosures for the patient.
        case disclosures([DisclosureRecord])
        /// The journal knows the patient (consent history) but recorded no disclosures.
        case noDisclosures
        /// The journal has no records at all for this id.
        case unknownPatient
    }

    /// Looks up one patient in the health journal.
    package static func lookup(patientID: String, in store: HealthJournalStore) async throws(StorageError) -> Lookup {
        let records = try await store.disclosures(patientID: patientID)
        if !records.isEmpty { return .disclosures(records) }
        if try await !store.consentHistory(patientID: patientID).isEmpty { return .noDisclosures }
        return .unknownPatient
    }

    static let headers = [
        "disclosed_at", "status", "recipient_role", "recipient_organisation", "categories", "form", "consent_id",
        "consent_version", "purpose", "event_type", "event_id", "disclosure_id", "withheld_reason", "bridge_version",
    ]

    static func fields(_ record: DisclosureRecord) -> [String] {
        [
            StoreTime.string(from: record.disclosedAt), record.status, record.recipientRole,
            record.recipientOrganisation,
            record.categories.joined(separator: ";"), record.form, record.consentID ?? "",
            record.consentVersion.map(String.init) ?? "", record.purpose, record.ceType, record.eventID,
            record.disclosureID, record.withheldReason ?? "", record.bridgeVersion,
        ]
    }

    /// Renders `records` (all about the same patient) in `format`; ends with a newline.
    package static func render(_ records: [DisclosureRecord], format: Format) throws(StorageError) -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .custom { date, encoder in
                var container = encoder.singleValueContainer()
                try container.encode(StoreTime.string(from: date))
            }
            do {
                return String(decoding: try encoder.encode(records), as: UTF8.self) + "\n"
            } catch {
                throw StorageError(.invalidBatch, "disclosure report could not be encoded", cause: error)
            }
        case .csv:
            let lines = [Self.headers] + records.map(Self.fields)
            return lines.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
        case .table:
            let rows = [Self.headers] + records.map(Self.fields)
            var widths = Array(repeating: 0, count: Self.headers.count)
            for row in rows {
                for (index, field) in row.enumerated() { widths[index] = max(widths[index], field.count) }
            }
            var text = ""
            for (rowIndex, row) in rows.enumerated() {
                let padded = row.enumerated().map { index, field in
                    field + String(repeating: " ", count: widths[index] - field.count)
                }
                text += padded.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
                if rowIndex == 0 {
                    text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
                }
            }
            text += Self.summary(of: records) + "\n"
            return text
        }
    }

    /// The table's last line: how many rows crossed and how many the bridge held back (R5: a
    /// withheld row's `status` says so, and it is not a disclosure, so it is not counted as one).
    static func summary(of records: [DisclosureRecord]) -> String {
        let withheld = records.count { $0.status == "withheld" }
        let disclosed = records.count - withheld
        let counted = "\(disclosed) disclosure\(disclosed == 1 ? "" : "s")"
        guard withheld > 0 else { return counted }
        return counted + ", \(withheld) withheld by the consent bridge (recorded, not disclosed)"
    }

    static func csvField(_ field: String) -> String {
        // Quote fields with separators, quotes or line breaks; a leading =,+,-,@ is prefixed
        // with a quote so a spreadsheet does not run it as a formula.
        var value = field
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }
}
