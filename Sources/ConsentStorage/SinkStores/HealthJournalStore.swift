package import ConsentConfiguration
import ConsentContracts
import Foundation
package import Logging
import SQLKit

/// The health service's journal store: consent history, disclosure log, anonymous case
/// references and events from NAV awaiting a clinician (docs/rules.md R4, R9).
///
/// Its only write path is the health sink (`apply(_:)`), which refuses NAV's follow-up
/// documentation (R3); the schema has no table that could hold it.
package final class HealthJournalStore: Sendable {
    /// The open database.
    package let database: StoreDatabase
    /// What the sink accepts.
    package let policy: HealthSinkPolicy
    /// How the sink quarantines and reports breaches (R10); nil for a store opened to read.
    package let breaches: BreachReporting?
    private let logger: Logger

    private init(database: StoreDatabase, policy: HealthSinkPolicy, breaches: BreachReporting?, logger: Logger) {
        self.database = database
        self.policy = policy
        self.breaches = breaches
        self.logger = logger
    }

    /// Opens (and migrates) the health journal store at `location`.
    package static func open(
        _ location: StoreLocation, policy: HealthSinkPolicy = .standard, breaches: BreachReporting? = nil,
        logger: Logger
    ) async throws(StorageError) -> HealthJournalStore {
        let database = try await StoreDatabase.open(location, logger: logger)
        do throws(StorageError) {
            try await Migrator.migrate(database, kind: .healthJournal, migrations: Self.migrations, logger: logger)
        } catch {
            await database.close()
            throw error
        }
        return HealthJournalStore(database: database, policy: policy, breaches: breaches, logger: logger)
    }

    /// Closes the connection.
    package func close() async {
        await self.database.close()
    }

    /// Applies one health-sink batch and its offsets in one transaction, idempotent by `ce_id`.
    package func apply(_ batch: SinkBatch) async throws(StorageError) -> SinkBatchResult {
        let policy = self.policy
        return try await SinkWriter.apply(
            batch, to: self.database, kind: .healthJournal, breaches: self.breaches, logger: self.logger
        ) { record, now in
            Self.route(record, policy: policy, now: now)
        }
    }

    /// Decides where a consumed record goes (pure: no I/O).
    static func route(_ record: SinkRecord, policy: HealthSinkPolicy, now: Date) -> SinkRoute {
        switch record.topic {
        case policy.consentTopic:
            return Self.routeConsent(record, schema: policy.consentSchema, now: now)
        case policy.disclosuresTopic:
            guard let value = record.value else { return .reject(.unexpectedTombstone) }
            guard let ceID = record.ceID, let ceType = record.ceType else { return .reject(.missingCloudEventHeaders) }
            guard ceType == DisclosureNotice.ceType else { return .reject(.unacceptedEventType) }
            guard let disclosure = SinkWriter.disclosure(from: value, schema: policy.disclosureSchema),
                disclosure.direction == "health-to-nav",
                var row = SinkWriter.disclosureRow(disclosure, ceID: ceID, now: now)
            else {
                return .reject(.invalidBody)
            }
            if let caseReference = disclosure.caseReference {
                row.followUps.append(
                    SinkFollowUpRow(
                        table: "case_references",
                        columns: ["case_reference", "patient_id", "first_disclosure_id", "created_at"],
                        values: [
                            SQLBind(caseReference), SQLBind(disclosure.subjectID), SQLBind(disclosure.disclosureID),
                            StoreSQL.time(now),
                        ]
                    ))
            }
            return .store(row)
        case policy.inboundTopic:
            // Only the bridge writes here: whatever the journal cannot accept has crossed
            // wrongly, and is a breach to quarantine and report (R10).
            guard let value = record.value else { return .quarantine(.unexpectedTombstone, rule: "R8") }
            guard let ceID = record.ceID, let ceType = record.ceType else {
                return .quarantine(.missingCloudEventHeaders, rule: "R8")
            }
            // R3 first: even a misconfigured allow-list cannot let follow-up notes in.
            if policy.isNavInternal(ceType) { return .quarantine(.navInternalDocumentation, rule: "R3") }
            guard policy.acceptedInboundTypes.contains(ceType) else {
                return .quarantine(.unacceptedEventType, rule: "R8")
            }
            let checked: JSONValue?
            switch SinkWriter.checkContract(value, ceType: ceType, schemas: policy.inboundSchemas) {
            case .breach(let breach): return breach
            case .valid(let body): checked = body
            case .notChecked: checked = nil
            }
            // The contract allows NAV's own assessment in a job status (NAV's system holds it);
            // the bridge removes it, so here it is NAV's documentation in the journal (R3).
            if !policy.navInternalFields.isEmpty, let body = checked ?? (try? StrictJSON.parse(value)),
                policy.holdsNavInternalField(body, ceType: ceType)
            {
                return .quarantine(.navInternalDocumentation, rule: "R3")
            }
            return .store(
                SinkWriter.eventRow(
                    table: "events_from_nav", record: record, ceID: ceID, ceType: ceType, payload: value, now: now))
        case policy.breachesTopic:
            return SinkWriter.breachLogRoute(record, schema: policy.breachSchema, now: now)
        default:
            return .reject(.unexpectedTopic)
        }
    }

    private struct ConsentFields: Decodable {
        var patientId: String
        var consentId: String
        var version: Int64
        var status: String
        var recordedAt: String?
    }

    private static let consentColumns = [
        "ce_id", "patient_id", "consent_id", "version", "status", "document", "recorded_at",
        "source_topic", "partition_id", "source_offset", "received_at",
    ]

    /// `schema`: the consent contract; a record that breaks it (or is not strict JSON) is
    /// recorded as unreadable.
    private static func routeConsent(_ record: SinkRecord, schema: JSONSchema?, now: Date) -> SinkRoute {
        let position: [any SQLExpression] = [
            SQLBind(record.topic), SQLBind(Int64(record.partition)), SQLBind(record.offset), StoreSQL.time(now),
        ]
        guard let value = record.value else {
            // A tombstone means "no consent" for the key's patient: kept in the history too.
            guard let patientID = record.keyText else { return .reject(.missingKey) }
            let ceID = record.ceID ?? "tombstone:\(record.topic):\(record.partition):\(record.offset)"
            return .store(
                SinkRow(
                    table: "consent_history",
                    columns: Self.consentColumns,
                    values: [
                        SQLBind(ceID), SQLBind(patientID), SQLLiteral.null, SQLLiteral.null, SQLBind("tombstone"),
                        SQLLiteral.null, SQLLiteral.null,
                    ] + position,
                    ceID: ceID
                ))
        }
        // A record without the consent contract's envelope is no consent for the bridge (R5,
        // fail closed): the history records it as unreadable for every person it names, as
        // below, under its position (a sender that leaves headers out cannot be trusted with
        // the idempotency key either).
        let envelope = CloudEventHeaders(kafkaHeaders: record.headers.map { (name: $0.name, value: $0.value ?? []) })
        let isConsent = envelope.isConsentEnvelope
        let ceID =
            isConsent
            ? envelope.id ?? "" : "unreadable:\(record.topic):\(record.partition):\(record.offset)"
        guard let fields = try? JSONDecoder().decode(ConsentFields.self, from: Data(value)),
            !fields.patientId.isEmpty, !fields.consentId.isEmpty
        else {
            // A body the journal cannot read is, for the bridge, no consent in force for the
            // key's person (`consent-unreadable`, R5): the history says so too (R4, R11), with
            // the record as it came. Without a key it names nobody: refused.
            guard let patientID = record.keyText else { return .reject(.invalidBody) }
            return .store(
                SinkRow(
                    table: "consent_history", columns: Self.consentColumns,
                    values: [
                        SQLBind(ceID), SQLBind(patientID), SQLLiteral.null, SQLLiteral.null, SQLBind("unreadable"),
                        StoreSQL.bytes(value), SQLLiteral.null,
                    ] + position,
                    ceID: ceID))
        }
        guard isConsent, record.keyText == fields.patientId, Self.meetsContract(value, schema: schema) else {
            // Without its envelope or its key, under another person's key, or breaking the
            // consent contract (a consent id that is no UUID, a required field missing, a
            // duplicate key), the record is nobody's readable consent: the journal records it as
            // unreadable for every person it names, as the bridge treats it (R5: no consent in
            // force for them until a newer valid record). Until 2026-12-07 a record breaking the
            // contract was recorded under the status it claimed, so the journal said granted
            // where the bridge found no consent.
            var row = SinkRow(
                table: "consent_history", columns: Self.consentColumns,
                values: [
                    SQLBind(ceID), SQLBind(fields.patientId), SQLBind(fields.consentId), SQLBind(fields.version),
                    SQLBind("unreadable"),
                    StoreSQL.bytes(value), StoreSQL.bind(fields.recordedAt),
                ] + position,
                ceID: ceID)
            if let key = record.keyText, key != fields.patientId {
                row.followUps.append(
                    SinkFollowUpRow(
                        table: "consent_history", columns: Self.consentColumns,
                        values: [
                            SQLBind(ceID + ":key"), SQLBind(key), SQLLiteral.null, SQLLiteral.null,
                            SQLBind("unreadable"), SQLLiteral.null, SQLLiteral.null,
                        ] + position))
            }
            return .store(row)
        }
        return .store(
            SinkRow(
                table: "consent_history",
                columns: Self.consentColumns,
                values: [
                    SQLBind(ceID), SQLBind(fields.patientId), SQLBind(fields.consentId), SQLBind(fields.version),
                    SQLBind(fields.status), StoreSQL.bytes(value), StoreSQL.bind(fields.recordedAt),
                ] + position,
                ceID: ceID
            ))
    }

    /// Whether a consent body is strict JSON that meets the consent contract (always, without it).
    private static func meetsContract(_ value: [UInt8], schema: JSONSchema?) -> Bool {
        guard let schema else { return true }
        guard let parsed = try? StrictJSON.parse(value) else { return false }
        return schema.validate(parsed).isEmpty
    }

    // MARK: Reads

    /// Everything disclosed about one patient, oldest first (R4, GDPR art. 15).
    package func disclosures(patientID: String) async throws(StorageError) -> [DisclosureRecord] {
        try await self.database.read { sql in
            try await sql.raw(
                "SELECT * FROM disclosure_log WHERE subject_id = \(bind: patientID) ORDER BY disclosed_at, disclosure_id"
            )
            .all().map(StoreSQL.decodeDisclosure)
        }
    }

    /// The patient's consent history, in the order received.
    package func consentHistory(patientID: String) async throws(StorageError) -> [ConsentHistoryEntry] {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT * FROM consent_history WHERE patient_id = \(bind: patientID)
                ORDER BY source_topic, partition_id, source_offset
                """
            ).all().map { row in
                guard let receivedAt = StoreTime.date(from: try row.decode(column: "received_at", as: String.self))
                else {
                    throw StorageError(.corruptRow, "consent history row has an unreadable time")
                }
                return ConsentHistoryEntry(
                    ceID: try row.decode(column: "ce_id", as: String.self),
                    patientID: try row.decode(column: "patient_id", as: String.self),
                    consentID: try row.decode(column: "consent_id", as: String?.self),
                    version: try row.decode(column: "version", as: Int64?.self),
                    status: try row.decode(column: "status", as: String.self),
                    document: try row.decode(column: "document", as: Data?.self).map { Array($0) },
                    recordedAt: try row.decode(column: "recorded_at", as: String?.self),
                    receivedAt: receivedAt
                )
            }
        }
    }

    /// Events from NAV still awaiting a clinician, oldest first.
    package func eventsAwaitingClinician(limit: Int = 1000) async throws(StorageError) -> [ReceivedEvent] {
        try await self.database.read { sql in
            try await sql.raw(
                """
                SELECT * FROM events_from_nav WHERE status = 'awaiting-clinician'
                ORDER BY received_at, ce_id LIMIT \(unsafeRaw: String(max(0, limit)))
                """
            ).all().map(SinkWriter.decodeEvent)
        }
    }

    /// The patient behind an anonymous case reference, if this journal issued it.
    package func patientID(forCaseReference reference: String) async throws(StorageError) -> String? {
        try await self.database.read { sql in
            try await sql.raw("SELECT patient_id FROM case_references WHERE case_reference = \(bind: reference)")
                .first()?
                .decode(column: "patient_id", as: String.self)
        }
    }
}
